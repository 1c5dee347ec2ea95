// upstreamFetch, the HTTP client under the openai SDK, against a real node:http server: what it
// hands back for each kind of answer, and that it keeps connections alive.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { EventStreamResponse, upstreamFetch } from '../src/llm/upstream-fetch.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  remotePort: number
}

async function startServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = []
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const part of req) body += part
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, remotePort: req.socket.remotePort! })
    answer(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

t.test('sends the method, headers and body; a streamed 2xx answer comes back as its Node stream', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req-1' })
    res.write('data: {"a":1}\n\n')
    res.end('data: [DONE]\n\n')
  })
  t.teardown(server.close)

  const response = await upstreamFetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: new Headers({ authorization: 'Bearer sk-1', 'content-type': 'application/json' }),
    body: '{"stream":true}',
  })
  t.ok(response instanceof EventStreamResponse, 'an EventStreamResponse')
  const { events } = response as EventStreamResponse
  t.ok(events instanceof Readable, 'its events are a Node stream')
  t.equal(response.body, null, 'no web body is made')
  t.equal(response.status, 200)
  t.equal(response.headers.get('x-request-id'), 'req-1')
  let text = ''
  for await (const part of events) text += part
  t.equal(text, 'data: {"a":1}\n\ndata: [DONE]\n\n')

  t.match(server.seen[0], { method: 'POST', url: '/v1/chat/completions', body: '{"stream":true}' })
  t.equal(server.seen[0].headers.authorization, 'Bearer sk-1')
})

t.test('any other answer is an ordinary Response with its body, for the SDK to read', async (t) => {
  const answers = [
    (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    // An error answer, even when a server labels it an event stream, is read whole.
    (res: ServerResponse) => res.writeHead(429, { 'content-type': 'text/event-stream' }).end('{"error":{"message":"slow down"}}'),
    (res: ServerResponse) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.writeHead(204).end()
    },
  ]
  const server = await startServer((_req, res) => answers.shift()!(res))
  t.teardown(server.close)

  const json = await upstreamFetch(server.url, { method: 'POST', body: '{}' })
  t.notOk(json instanceof EventStreamResponse)
  t.same(await json.json(), { ok: true })

  const limited = await upstreamFetch(server.url)
  t.equal(limited.status, 429)
  t.notOk(limited instanceof EventStreamResponse)
  t.equal(await limited.text(), '{"error":{"message":"slow down"}}')

  const empty = await upstreamFetch(server.url)
  t.equal(empty.status, 204)
  t.equal(empty.body, null, 'a 204 has no body')
  t.equal(empty.headers.get('set-cookie'), 'a=1, b=2', 'repeated headers are all kept')
  t.equal(server.seen[1].method, 'GET', 'GET when no method is given')
})

t.test('connections are kept alive between calls', async (t) => {
  const server = await startServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  t.teardown(server.close)
  for (let i = 0; i < 5; i++) {
    await (await upstreamFetch(server.url)).json()
    await new Promise((resolve) => setTimeout(resolve, 10)) // the connection goes back to the pool
  }
  const ports = new Set(server.seen.map((request) => request.remotePort))
  t.equal(ports.size, 1, 'five calls, one connection')
})

t.test('an abort closes the stream and the connection', async (t) => {
  let closed!: Promise<unknown>
  const server = await startServer((_req, res) => {
    closed = once(res, 'close')
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"a":1}\n\n') // then silence
  })
  t.teardown(server.close)
  const controller = new AbortController()
  const response = (await upstreamFetch(server.url, { signal: controller.signal })) as EventStreamResponse
  const reading = (async () => {
    for await (const _ of response.events); // eslint-disable-line no-empty
  })()
  controller.abort()
  await t.rejects(reading, { name: 'AbortError' }, 'the reader fails with an AbortError')
  await closed
  t.pass('the server saw the connection close')
})

t.test('only string bodies are sent', async (t) => {
  await t.rejects(upstreamFetch('http://127.0.0.1:9/', { method: 'POST', body: new Uint8Array([1]) }), TypeError)
})
