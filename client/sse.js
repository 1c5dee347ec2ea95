// Parses a Server-Sent Events body (a fetch Response's ReadableStream) into events.
// EventSource cannot POST nor send an Authorization header, so the client reads SSE from fetch.

/** Yields { type, id, data } for each event; comments (heartbeats) and `retry:` are skipped. */
export async function* readSse(body) {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let event = { type: 'message', id: undefined, data: [] }
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let newline
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        if (newline === buffer.length - 1 && buffer.endsWith('\r')) break // maybe half of a \r\n
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (event.data.length > 0) yield { type: event.type, id: event.id, data: event.data.join('\n') }
          event = { type: 'message', id: undefined, data: [] }
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') event.type = value
        else if (field === 'id') event.id = value
        else if (field === 'data') event.data.push(value)
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}
