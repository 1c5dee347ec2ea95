// The ceiling: the least a relay can do for the same job as the gateway, in its own process.
// Each one sends the client's message to the upstream (streamed), parses the upstream's SSE,
// and forwards every content chunk as a `message` event serialised once:
//   POST /sse   {message}  -> SSE `id:`/`event: message`/`data: {"delta","index"}` frames, then `complete`
//   POST /turn  {message}  -> the whole reply collected, answered as JSON
//   GET  /ws    frames {"type":"turn","message"} -> `{type,id,turnId,data}` text frames
// No auth, no storage, no validation, no logging. UPSTREAM_URL is the fake upstream's /v1 URL.
// Prints `ready <http url>` on stdout when listening.
import { randomUUID } from 'node:crypto'
import { Agent, createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

const agent = new Agent({ keepAlive: true, maxSockets: Infinity })

/** Streams the upstream's reply to `message`, calling onDelta per content chunk; resolves at [DONE]. */
function relayUpstream(upstreamUrl: string, message: string, onDelta: (text: string, index: number) => void): Promise<void> {
  const body = JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: message }] })
  return new Promise((resolve, reject) => {
    const req = request(`${upstreamUrl}/chat/completions`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res: IncomingMessage) => {
      res.setEncoding('utf8')
      let buffered = ''
      let index = 0
      res.on('data', (part: string) => {
        buffered += part
        let end: number
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const line = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
          const text = JSON.parse(line.slice(6)).choices[0]?.delta?.content
          if (text) onDelta(text, index++)
        }
      })
      res.on('end', resolve)
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function readJson(req: IncomingMessage): Promise<{ message: string }> {
  let raw = ''
  for await (const part of req) raw += part
  return JSON.parse(raw)
}

export async function startRelays(upstreamUrl: string): Promise<{ url: string; wsUrl: string }> {
  const server = createServer(async (req, res) => {
    try {
      const { message } = await readJson(req)
      const turnId = randomUUID()
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        res.socket?.setNoDelay(true)
        let reply = ''
        await relayUpstream(upstreamUrl, message, (delta, index) => {
          reply += delta
          res.write(`id: ${turnId}:${index}\nevent: message\ndata: ${JSON.stringify({ delta, index })}\n\n`)
        })
        res.end(`event: complete\ndata: ${JSON.stringify({ reply })}\n\n`)
      } else if (req.url === '/turn') {
        let reply = ''
        await relayUpstream(upstreamUrl, message, (delta) => { reply += delta })
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ turnId, reply }))
      } else {
        res.writeHead(404).end()
      }
    } catch {
      res.destroy()
    }
  })
  server.keepAliveTimeout = 60_000

  const wss = new WebSocketServer({ server, path: '/ws' })
  wss.on('connection', (socket, req) => {
    // As the gateway does (src/streaming/ws-session.ts): cork the TCP socket at a tick's first
    // frame and uncork it on process.nextTick, so a burst of frames is one writev.
    let corked = false
    const batch = () => {
      if (corked) return
      corked = true
      req.socket.cork()
      process.nextTick(() => {
        corked = false
        req.socket.uncork()
      })
    }
    socket.on('message', async (raw) => {
      const { message } = JSON.parse(raw.toString()) as { message: string }
      const turnId = randomUUID()
      let reply = ''
      await relayUpstream(upstreamUrl, message, (delta, index) => {
        reply += delta
        batch()
        socket.send(`{"type":"message","id":"${turnId}:${index}","turnId":"${turnId}","data":${JSON.stringify({ delta, index })}}`)
      }).catch(() => socket.terminate())
      socket.send(JSON.stringify({ type: 'complete', turnId, data: { reply } }))
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 4096, resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` }
}

if (import.meta.main) {
  const upstreamUrl = process.env.UPSTREAM_URL
  if (!upstreamUrl) throw new Error('UPSTREAM_URL is required')
  const relays = await startRelays(upstreamUrl)
  console.log(`ready ${relays.url}`)
}
