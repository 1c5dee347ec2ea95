// 3. Token fan-out: how many `message` events per second reach clients when the upstream is
// instant (the `burst` plan), through the gateway and through the bare relays doing the same
// work (the ceiling). A closed loop: `concurrency` clients each run turn after turn until time is up.
import { performance } from 'node:perf_hooks'
import { gatewayWsEnd, messageEvent, pool, relayWsEnd, sseTurn, WsClient, type StreamTiming } from '../clients.ts'
import { planMessage } from '../fake-upstream.ts'
import { authHeaders, token } from '../gateway.ts'
import type { Server } from '../processes.ts'
import { int, pct, table } from '../stats.ts'

export interface FanoutOptions {
  gateway: Server
  relays: Server
  /** Called once the gateway's targets are done (the gateway can stop: its profile ends there). */
  gatewayDone(): Promise<void>
  concurrency: number
  chunks: number
  durationMs: number
}

interface Rate {
  target: string
  events: number
  seconds: number
  /** CPU time the serving process used meanwhile. */
  cpuMs: number
  failed: number
}

export async function runFanout(options: FanoutOptions): Promise<{ results: Rate[]; report: string }> {
  const message = planMessage({ mode: 'burst', chunks: options.chunks, delayMs: 0 })
  const headers = authHeaders()
  const gatewayBody = JSON.stringify({ animalId: 'lion', message })
  const relayBody = JSON.stringify({ message })
  const wsFrame = JSON.stringify({ type: 'turn', animalId: 'lion', message })
  const gatewayUrl = options.gateway.url
  const relayUrl = options.relays.url
  const targets: Array<{ name: string; server: Server; ws?: () => Promise<WsClient>; sse?: () => Promise<StreamTiming> }> = [
    { name: 'gateway SSE', server: options.gateway, sse: () => sseTurn({ url: `${gatewayUrl}/convo_turn?stream=true`, headers, body: gatewayBody, isDelta: messageEvent }) },
    { name: 'gateway WebSocket', server: options.gateway, ws: () => WsClient.open(`${gatewayUrl.replace('http', 'ws')}/ws?access_token=${token()}`, gatewayWsEnd) },
    { name: 'bare node:http SSE relay', server: options.relays, sse: () => sseTurn({ url: `${relayUrl}/sse`, body: relayBody, isDelta: messageEvent }) },
    { name: 'bare ws relay', server: options.relays, ws: () => WsClient.open(`${relayUrl.replace('http', 'ws')}/ws`, relayWsEnd) },
  ]

  const results: Rate[] = []
  for (const target of targets) {
    if (target === targets[2]) await options.gatewayDone()
    const sockets = target.ws ? await pool(options.concurrency, 100, () => target.ws!()) : []
    const turn = (worker: number) => (target.sse ? target.sse() : sockets[worker].turn(wsFrame))
    await pool(options.concurrency, options.concurrency, (_, worker) => turn(worker)) // warm-up
    let events = 0
    let failed = 0
    const cpuBefore = target.server.cpuMs()
    const start = performance.now()
    const deadline = start + options.durationMs
    await pool(options.concurrency, options.concurrency, async (_, worker) => {
      while (performance.now() < deadline) {
        try {
          const { deltas } = await turn(worker)
          events += deltas.length
        } catch {
          failed++
          return // this client is done (its socket may be gone); the others go on
        }
      }
    })
    results.push({ target: target.name, events, seconds: (performance.now() - start) / 1000, cpuMs: target.server.cpuMs() - cpuBefore, failed })
    sockets.forEach((socket) => socket.close())
    console.error(`fanout: ${target.name} done`)
  }
  return { results, report: fanoutReport(results, options) }
}

function fanoutReport(results: Rate[], options: FanoutOptions): string {
  const rate = (r: Rate) => r.events / r.seconds
  const [gwSse, gwWs, relaySse, relayWs] = results
  const ceiling = (r: Rate) => (r === gwSse ? relaySse : r === gwWs ? relayWs : undefined)
  return [
    `${options.concurrency} clients, each running turns back to back for ${options.durationMs / 1000} s; ` +
    `each turn is ${options.chunks} content chunks that the upstream sends at once. Server CPU = user + system time of the ` +
    'serving process (from /proc), which holds better than events/s when other work shares the machine; "busy" = CPU time / wall time.',
    '',
    table(
      ['target', 'message events', 'events/s', 'of the bare relay', 'server CPU µs per event', 'server CPU busy'],
      results.map((r) => [
        `${r.target}${r.failed ? ` (${r.failed} turns failed)` : ''}`, int(r.events), `**${int(rate(r))}**`, ceiling(r) ? pct(rate(r) / rate(ceiling(r)!)) : '(ceiling)',
        int((r.cpuMs * 1000) / r.events), pct(r.cpuMs / 1000 / r.seconds),
      ]),
    ),
  ].join('\n')
}
