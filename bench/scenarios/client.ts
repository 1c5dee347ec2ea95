// 5. The upstream client alone: CPU time per streamed model call in this process (the fake
// upstream runs in its own), for the ways the gateway could make the call. It measures the
// choice in src/llm/upstream-fetch.ts (undici request() under the SDK instead of the global
// fetch) and what the openai SDK itself costs per request on top of the HTTP client.
import OpenAI from 'openai'
import { planMessage } from '../fake-upstream.ts'
import { EventStreamResponse, upstreamFetch } from '../../src/llm/upstream-fetch.ts'
import { int, median, table } from '../stats.ts'

export interface ClientOptions {
  upstreamUrl: string
  /** Calls per measurement, `concurrency` at a time. */
  calls: number
  concurrency: number
  rounds: number
  /** Content chunks per answer (sent at once). */
  chunks: number
}

type Call = () => Promise<void>

async function readAll(response: Response): Promise<void> {
  if (response instanceof EventStreamResponse) {
    for await (const _ of response.events); // eslint-disable-line no-empty
  } else {
    const reader = response.body!.getReader()
    while (!(await reader.read()).done); // eslint-disable-line no-empty
  }
}

function targets(options: ClientOptions): Array<{ name: string; call: Call }> {
  const message = planMessage({ mode: 'burst', chunks: options.chunks, delayMs: 0 })
  const body = { model: 'bench', messages: [{ role: 'user' as const, content: message }], stream: true as const, stream_options: { include_usage: true } }
  const sdk = (fetch?: typeof globalThis.fetch) => {
    const client = new OpenAI({ apiKey: 'bench', baseURL: options.upstreamUrl, maxRetries: 0, ...(fetch ? { fetch } : {}) })
    return async () => readAll(await client.chat.completions.create(body, { signal: new AbortController().signal }).asResponse())
  }
  const json = JSON.stringify(body)
  return [
    { name: 'openai SDK on the global fetch (before)', call: sdk() },
    { name: 'openai SDK on undici request() (the gateway)', call: sdk(upstreamFetch) },
    {
      name: 'undici request() alone, no SDK',
      call: async () => readAll(await upstreamFetch(`${options.upstreamUrl}/chat/completions`, {
        method: 'POST',
        headers: new Headers({ authorization: 'Bearer bench', 'content-type': 'application/json' }),
        body: json,
        signal: new AbortController().signal,
      })),
    },
  ]
}

async function cpuPerCall(call: Call, options: ClientOptions): Promise<number> {
  const before = process.cpuUsage()
  for (let done = 0; done < options.calls; done += options.concurrency) {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.calls - done) }, call))
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / options.calls
}

export async function runClient(options: ClientOptions): Promise<{ report: string }> {
  const all = targets(options)
  for (const { call } of all) await cpuPerCall(call, { ...options, calls: options.concurrency * 10 }) // warm-up
  // Rounds take turns, so that other work on the machine hits every target alike.
  const samples = all.map(() => [] as number[])
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, { call }] of all.entries()) samples[i].push(await cpuPerCall(call, options))
  }
  const rows = all.map(({ name }, i) => [name, int(median(samples[i])), samples[i].map(int).join(', ')])
  const report = [
    `${int(options.calls)} streamed calls per measurement, ${options.concurrency} at a time, each answer ${options.chunks} ` +
    `content chunks sent at once and read to its end; ${options.rounds} rounds, the targets taking turns. CPU = user + system ` +
    'time of the calling process (the fake upstream runs in its own), per call.',
    '',
    table(['client', 'CPU µs per call (median)', 'each round'], rows),
  ].join('\n')
  return { report }
}
