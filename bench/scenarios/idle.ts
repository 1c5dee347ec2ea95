// 2. Idle connections: how much server memory one held connection costs, and how the event loop
// fares while many are held (heartbeats included: the gateway runs with a short HEARTBEAT_MS).
//   WebSocket: a kiosk's /ws socket with no turn running.
//   SSE: a web page attached with GET /convo_turn/{turnId}/stream to a turn that is still running
//        while the model is silent (the fake upstream's `hold` plan): the only long-lived SSE
//        connection this gateway has; it is idle but for heartbeat comments.
// Each transport gets a fresh gateway, so one's freed memory does not hide the other's cost.
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { EVENT_LOOP_SAMPLING_MS } from '../../plugins/metrics.ts'
import { pool } from '../clients.ts'
import { planMessage } from '../fake-upstream.ts'
import { authHeaders, gatewayMetrics, type LoopDelay } from '../gateway.ts'
import type { Server } from '../processes.ts'
import { int, kib, ms, table } from '../stats.ts'

export interface IdleOptions {
  startGateway(): Promise<Server>
  stopGateway(server: Server): Promise<void>
  connections: number
  holdMs: number
}

interface Held {
  transport: string
  connections: number
  baselineRss: number
  heldRss: number
  baselineHeap: number
  heldHeap: number
  idleLoop: LoopDelay
  heldLoop: LoopDelay
}

const OPEN_AT_ONCE = 200
const plainAgent = new Agent({ keepAlive: false, maxSockets: Infinity })

export async function runIdle(options: IdleOptions): Promise<{ results: Held[]; report: string }> {
  const results = [await hold('WebSocket', options, openWebSockets), await hold('SSE', options, openSseStreams)]
  return { results, report: idleReport(results, options) }
}

/** Opens `count` connections; gives a count of those still open and a way to close them all. */
type Opener = (gatewayUrl: string, count: number) => Promise<{ stillOpen(): number; closeAll(): void }>

async function hold(transport: string, options: IdleOptions, open: Opener): Promise<Held> {
  const gateway = await options.startGateway()
  try {
    await sleep(1000)
    await gatewayMetrics(gateway.url) // resets the histogram
    await sleep(options.holdMs / 3)
    const { loop: idleLoop, heapUsed: baselineHeap } = await gatewayMetrics(gateway.url)
    const baselineRss = gateway.rss()
    const held = await open(gateway.url, options.connections)
    await sleep(1000)
    await gatewayMetrics(gateway.url)
    await sleep(options.holdMs)
    const { loop: heldLoop, heapUsed: heldHeap } = await gatewayMetrics(gateway.url)
    const heldRss = gateway.rss()
    const connections = held.stillOpen()
    held.closeAll()
    console.error(`idle: ${options.connections} ${transport} done`)
    return { transport, connections, baselineRss, heldRss, baselineHeap, heldHeap, idleLoop, heldLoop }
  } finally {
    await options.stopGateway(gateway)
  }
}

const openWebSockets: Opener = async (gatewayUrl, count) => {
  const url = `${gatewayUrl.replace('http', 'ws')}/ws`
  const headers = authHeaders()
  const sockets = await pool(count, OPEN_AT_ONCE, () => new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url, { headers, perMessageDeflate: false })
    socket.once('open', () => resolve(socket))
    socket.on('error', reject) // after the open, an error only closes the socket: stillOpen() tells
  }))
  return {
    stillOpen: () => sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length,
    closeAll: () => sockets.forEach((socket) => socket.terminate()),
  }
}

const openSseStreams: Opener = async (gatewayUrl, count) => {
  const headers = authHeaders()
  // The turn everyone watches: started over SSE, its model stays silent until the gateway stops.
  const { req: starter, res: first } = await get(`${gatewayUrl}/convo_turn?stream=true`, headers, JSON.stringify({ animalId: 'lion', message: planMessage({ mode: 'hold', chunks: 0, delayMs: 0 }) }))
  const turnId = await new Promise<string>((resolve) => {
    let text = ''
    first.setEncoding('utf8')
    first.on('data', (part: string) => {
      text += part
      const match = /"turnId":"([^"]+)"/.exec(text)
      if (match) resolve(match[1])
    })
  })
  const streams = await pool(count, OPEN_AT_ONCE, () => get(`${gatewayUrl}/convo_turn/${turnId}/stream`, headers))
  return {
    stillOpen: () => streams.filter(({ res }) => !res.complete && !res.destroyed).length,
    closeAll: () => {
      for (const { req } of streams) req.destroy()
      starter.destroy()
    },
  }
}

/** Opens a request (POST when there is a body) and resolves once the 200 headers arrive. */
function get(url: string, headers: Record<string, string>, body?: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: body ? 'POST' : 'GET',
      agent: plainAgent,
      headers: { accept: 'text/event-stream', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      res.on('error', () => {}) // a stream cut later shows in stillOpen()
      if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}`))
      if (!body) res.resume()
      resolve({ req, res })
    })
    req.on('error', reject)
    req.end(body)
  })
}

function idleReport(results: Held[], options: IdleOptions): string {
  return [
    `${int(options.connections)} connections of each kind opened (the table counts those still open at the end), held for ${options.holdMs / 1000} s, heartbeats every 2 s. ` +
    'RSS per connection = (RSS while held − RSS before) / connections (V8 heap used likewise, from /metrics, garbage not yet ' +
    `collected included); event-loop delay (ms, beyond the ${EVENT_LOOP_SAMPLING_MS} ms sampling interval) from the gateway's /metrics, ` +
    'idle = before the connections, held = while they are held.',
    '',
    table(
      ['transport', 'connections', 'RSS before → held (MiB)', 'RSS KiB per connection', 'heap KiB per connection', 'loop delay idle p50 / p99 / max', 'loop delay held p50 / p99 / max'],
      results.map((r) => [
        r.transport, int(r.connections), `${(r.baselineRss / 2 ** 20).toFixed(1)} → ${(r.heldRss / 2 ** 20).toFixed(1)}`,
        `**${kib((r.heldRss - r.baselineRss) / r.connections)}**`, kib((r.heldHeap - r.baselineHeap) / r.connections),
        `${ms(r.idleLoop.p50)} / ${ms(r.idleLoop.p99)} / ${ms(r.idleLoop.max)}`,
        `${ms(r.heldLoop.p50)} / ${ms(r.heldLoop.p99)} / ${ms(r.heldLoop.max)}`,
      ]),
    ),
  ].join('\n')
}
