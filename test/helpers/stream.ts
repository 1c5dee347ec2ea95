// Helpers for the streaming tests: start turns, read part of a stream and hang up, check ids.
import { readSse, type SseEvent } from './sse.ts'

/** POST /convo_turn asking for SSE; `signal` lets the test hang up. */
export function postSse(url: string, headers: Record<string, string>, body: object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  })
}

/** Reads events until `enough` says so, then hangs up (a dropped connection, not a cancel). */
export async function readThenDrop(response: Response, abort: AbortController, enough: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const event of readSse(response)) {
    events.push(event)
    if (enough(events)) break
  }
  abort.abort()
  return events
}

/** The events' ids must be exactly `<turnId>:0`, `<turnId>:1`, ... with no gap and no repeat. */
export function idsInOrder(events: Array<{ id?: string | null }>, turnId: string): boolean {
  return events.every((event, seq) => event.id === `${turnId}:${seq}`)
}

/** Slow model replies: `count` words, `delayMs` apart. */
export function words(count: number, prefix = 'word'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i} `)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a value (generous: for things that happen in the background). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(50)
  }
}
