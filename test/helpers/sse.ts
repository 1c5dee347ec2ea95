// A small SSE reader over fetch, for tests: yields parsed events as they arrive.

export interface SseEvent {
  id?: string
  event: string
  data: Record<string, unknown>
}

export async function* readSse(response: Response): AsyncGenerator<SseEvent> {
  if (!response.body) throw new Error('response has no body')
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = parseBlock(block)
      if (event) yield event
    }
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let id: string | undefined
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line.startsWith('retry:')) continue
    const colon = line.indexOf(':')
    const field = line.slice(0, colon)
    const value = line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = value
    else if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0) return undefined
  return { id, event, data: JSON.parse(data.join('\n')) }
}

/** Reads the whole stream (until the server ends it). */
export async function collectSse(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const event of readSse(response)) events.push(event)
  return events
}
