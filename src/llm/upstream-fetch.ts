// The HTTP client under the openai SDK. The SDK still builds every request (auth, base URL,
// headers) and turns a non-2xx answer into an APIError with its status; this `fetch` only makes
// the call, with undici's request() on its keep-alive pool instead of the global fetch.
// Why: fetch costs a WHATWG Request/Response machinery per call and a web ReadableStream (a
// promise per read) on every network chunk of the answer, which was most of the gateway's own
// CPU per streamed token (docs/performance.md). A streamed answer (2xx, text/event-stream) is
// handed over as the Node stream undici reads it into: an EventStreamResponse, with no web body.
// Every other answer (errors, JSON) is an ordinary Response with its body read, for the SDK.
import type { Readable } from 'node:stream'
import { request } from 'undici'

/** A streamed model answer: status and headers as a Response, the body as a Node stream. */
export class EventStreamResponse extends Response {
  readonly events: Readable

  constructor(events: Readable, init: ResponseInit) {
    super(null, init)
    this.events = events
  }
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else if (value !== undefined) headers.append(name, value)
  }
  return headers
}

/** The `fetch` the SDK is given (`new OpenAI({ fetch })`): only what the SDK sends is supported. */
export const upstreamFetch: typeof fetch = async (input, init = {}) => {
  if (init.body != null && typeof init.body !== 'string') throw new TypeError('upstreamFetch sends string bodies only')
  const { statusCode, headers, body } = await request(String(input), {
    method: (init.method ?? 'GET') as 'GET',
    // The SDK passes a Headers object, which undici takes as the iterable of pairs it is.
    headers: init.headers as Iterable<[string, string]> | undefined,
    body: init.body,
    signal: init.signal ?? undefined,
  })
  const responseInit = { status: statusCode, headers: toHeaders(headers) }
  const isEventStream = String(headers['content-type'] ?? '').startsWith('text/event-stream')
  if (statusCode >= 200 && statusCode < 300 && isEventStream) return new EventStreamResponse(body, responseInit)
  const content = await body.arrayBuffer()
  return new Response(NULL_BODY_STATUSES.has(statusCode) ? null : content, responseInit)
}
