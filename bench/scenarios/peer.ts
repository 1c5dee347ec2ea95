// 8. The peer: the same turns through the bare relay, the Portkey AI gateway, and this gateway on
// the memory store and on the embedded default (dynalite in its child process), over SSE and
// WebSocket, every server in its own process, in interleaved rounds (each round runs every target
// once per load, so background load hits all of them alike). Per target: added TTFT at 1 stream,
// at 100 steady streams (starts spread over a stream's duration) and at a burst of 100 started
// at once; JSON turns per second (autocannon) with the server's CPU per turn; peak RSS.
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { gatewayWsEnd, messageEvent, pool, relayWsEnd, sseTurn, upstreamDelta, WsClient, type StreamTiming } from '../clients.ts'
import { planMessage, type UpstreamPlan } from '../fake-upstream.ts'
import { authHeaders, token } from '../gateway.ts'
import { portkeyHeaders } from '../peer.ts'
import type { Server } from '../processes.ts'
import { int, ms, summarize, table, type Summary } from '../stats.ts'

type Autocannon = (options: Record<string, unknown>) => Promise<{ requests: { average: number; total: number }; non2xx: number; errors: number; timeouts: number }>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export interface PeerOptions {
  upstreamUrl: string
  relays: Server
  portkey: Server
  memory: Server
  embedded: Server
  rounds: number
  /** Turns per round at one stream, and at 100 steady streams; bursts of 100 per round. */
  single: number
  steady: number
  bursts: number
  jsonMs: number
}

/** First token 20 ms after the request, then 19 more 20 ms apart. */
const PLAN: UpstreamPlan = { mode: 'timed', chunks: 20, delayMs: 20 }
const JSON_CONNECTIONS = 32
const CONCURRENCY = 100

interface Target {
  label: string
  server?: Server
  /** One streamed turn; `worker` picks a kiosk socket for WebSocket targets. */
  stream?: (worker: number) => Promise<StreamTiming>
  open?: (count: number) => Promise<void>
  close?: () => void
  json?: { url: string; headers: Record<string, string>; body: string }
}

interface Result {
  single: StreamTiming[]
  steady: StreamTiming[]
  burst: StreamTiming[]
  failed: number
  jsonTurns: number
  jsonMs: number
  jsonCpuMs: number
  jsonFailed: number
  peakRss: number
}

export async function runPeer(options: PeerOptions): Promise<{ report: string }> {
  const message = planMessage(PLAN)
  const jsonMessage = planMessage({ mode: 'burst', chunks: 10, delayMs: 0 })
  const chat = (content: string, stream: boolean) => JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content }] })
  const gatewayBody = (content: string) => JSON.stringify({ animalId: 'lion', message: content })
  const headers = authHeaders()

  const wsTarget = (label: string, url: string, frame: string, isEnd: (frame: string) => boolean, server: Server): Target => {
    let sockets: WsClient[] = []
    return {
      label, server,
      open: async (count) => { sockets = await pool(count, 100, () => WsClient.open(url, isEnd)) },
      close: () => sockets.forEach((socket) => socket.close()),
      stream: (worker) => sockets[worker].turn(frame),
    }
  }
  const gatewayTargets = (name: string, server: Server): Target[] => [
    {
      label: `this gateway, ${name}, SSE`, server,
      stream: () => sseTurn({ url: `${server.url}/convo_turn?stream=true`, headers, body: gatewayBody(message), isDelta: messageEvent }),
      json: { url: `${server.url}/convo_turn`, headers, body: gatewayBody(jsonMessage) },
    },
    wsTarget(`this gateway, ${name}, WebSocket`, `${server.url.replace('http', 'ws')}/ws?access_token=${token()}`,
      JSON.stringify({ type: 'turn', animalId: 'lion', message }), gatewayWsEnd, server),
  ]
  const targets: Target[] = [
    { label: 'direct (the upstream)', stream: () => sseTurn({ url: `${options.upstreamUrl}/chat/completions`, body: chat(message, true), isDelta: upstreamDelta }) },
    {
      label: 'bare relay, SSE', server: options.relays,
      stream: () => sseTurn({ url: `${options.relays.url}/sse`, body: JSON.stringify({ message }), isDelta: messageEvent }),
      json: { url: `${options.relays.url}/turn`, headers: {}, body: JSON.stringify({ message: jsonMessage }) },
    },
    wsTarget('bare relay, WebSocket', options.relays.url.replace('http', 'ws') + '/ws', JSON.stringify({ type: 'turn', message }), relayWsEnd, options.relays),
    {
      label: 'Portkey 1.15, SSE', server: options.portkey,
      stream: () => sseTurn({ url: `${options.portkey.url}/v1/chat/completions`, headers: portkeyHeaders(options.upstreamUrl), body: chat(message, true), isDelta: upstreamDelta }),
      json: { url: `${options.portkey.url}/v1/chat/completions`, headers: portkeyHeaders(options.upstreamUrl), body: chat(jsonMessage, false) },
    },
    ...gatewayTargets('memory store', options.memory),
    ...gatewayTargets('embedded store', options.embedded),
  ]
  const results = new Map<Target, Result>(targets.map((target) => [target, {
    single: [], steady: [], burst: [], failed: 0, jsonTurns: 0, jsonMs: 0, jsonCpuMs: 0, jsonFailed: 0, peakRss: 0,
  }]))
  const note = (target: Target) => {
    const result = results.get(target)!
    if (target.server) result.peakRss = Math.max(result.peakRss, target.server.rss())
    return result
  }
  const streams = async (target: Target, into: StreamTiming[], count: number, concurrency: number, spacingMs: number) => {
    await target.open?.(concurrency)
    const started = new Set<number>()
    const outcomes = await pool(count, concurrency, async (_, worker) => {
      if (!started.has(worker)) {
        started.add(worker)
        await sleep(worker * spacingMs)
      }
      return target.stream!(worker).catch(() => undefined)
    })
    target.close?.()
    for (const timing of outcomes) {
      if (timing?.deltas.length) into.push(timing)
      else results.get(target)!.failed++
    }
  }

  // Warm-up: JIT, keep-alive sockets, the embedded store's tables.
  for (const target of targets) await streams(target, [], 40, 20, 0)
  for (const target of targets.filter((t) => t.json)) await autocannon({ ...jsonRequest(target), duration: 1 })

  const streamMs = PLAN.chunks * PLAN.delayMs
  for (let round = 0; round < options.rounds; round++) {
    for (const target of targets) await streams(target, results.get(target)!.single, options.single, 1, 0)
    for (const target of targets) {
      await streams(target, results.get(target)!.steady, options.steady, CONCURRENCY, streamMs / CONCURRENCY)
      note(target)
    }
    for (const target of targets) {
      for (let burst = 0; burst < options.bursts; burst++) await streams(target, results.get(target)!.burst, CONCURRENCY, CONCURRENCY, 0)
      note(target)
    }
    for (const target of targets.filter((t) => t.json)) {
      const result = results.get(target)!
      const cpuBefore = target.server!.cpuMs()
      const run = await autocannon({ ...jsonRequest(target), duration: options.jsonMs / 1000 })
      result.jsonCpuMs += target.server!.cpuMs() - cpuBefore
      result.jsonTurns += run.requests.total
      result.jsonMs += options.jsonMs
      result.jsonFailed += run.non2xx + run.errors + run.timeouts
      note(target)
    }
    console.error(`peer: round ${round + 1} of ${options.rounds} done`)
  }
  return { report: peerReport(targets, results, options) }
}

function jsonRequest(target: Target): Record<string, unknown> {
  const { url, headers, body } = target.json!
  return { url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections: JSON_CONNECTIONS }
}

const ttft = (timings: StreamTiming[]): Summary => summarize(timings.map((t) => t.deltas[0] - t.start))

function peerReport(targets: Target[], results: Map<Target, Result>, options: PeerOptions): string {
  const direct = results.get(targets[0])!
  const added = (target: Target, load: 'single' | 'steady' | 'burst') => {
    const through = ttft(results.get(target)![load])
    const base = ttft(direct[load])
    return { p50: through.p50 - base.p50, p99: through.p99 - base.p99 }
  }
  const turnsPerSecond = (target: Target) => {
    const r = results.get(target)!
    return r.jsonMs ? r.jsonTurns / (r.jsonMs / 1000) : NaN
  }
  const rows = targets.slice(1).map((target) => {
    const r = results.get(target)!
    const single = added(target, 'single')
    const steady = added(target, 'steady')
    const burst = added(target, 'burst')
    return [
      target.label, `${r.single.length + r.steady.length + r.burst.length}${r.failed ? ` (+${r.failed} failed)` : ''}`,
      `**${ms(single.p50)}**`, `**${ms(steady.p50)}** / ${ms(steady.p99)}`, `${ms(burst.p50)} / ${ms(burst.p99)}`,
      target.json ? `**${int(turnsPerSecond(target))}**${r.jsonFailed ? ` (${r.jsonFailed} failed)` : ''}` : '',
      target.json ? (r.jsonCpuMs / r.jsonTurns).toFixed(2) : '',
      (r.peakRss / 2 ** 20).toFixed(0),
    ]
  })

  // The goals of issue 19, as ratios within this run.
  const find = (label: string) => targets.find((t) => t.label === label)!
  const relaySse = find('bare relay, SSE')
  const relayWs = find('bare relay, WebSocket')
  const portkey = find('Portkey 1.15, SSE')
  const memorySse = find('this gateway, memory store, SSE')
  const memoryWs = find('this gateway, memory store, WebSocket')
  const embeddedSse = find('this gateway, embedded store, SSE')
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a')
  const goal = (what: string, value: string, target: string, met: boolean) => [what, value, target, met ? 'met' : '**not met**']
  const r = (a: number, b: number) => a / b
  const ours = targets.filter((t) => t.label.startsWith('this gateway'))
  const worstLatencyVsPortkey = Math.max(...ours.flatMap((t) => (['single', 'steady', 'burst'] as const).map((load) => r(added(t, load).p50, added(portkey, load).p50))))
  const ourJson = ours.filter((t) => t.json)
  const worstTurnsVsPortkey = Math.min(...ourJson.map((t) => r(turnsPerSecond(t), turnsPerSecond(portkey))))
  const goals = [
    goal('added TTFT p50 at 1 stream, SSE / bare relay SSE', ratio(added(memorySse, 'single').p50, added(relaySse, 'single').p50), '≤ 1.5×', r(added(memorySse, 'single').p50, added(relaySse, 'single').p50) <= 1.5),
    goal('added TTFT p50 at 1 stream, WebSocket / bare relay WebSocket', ratio(added(memoryWs, 'single').p50, added(relayWs, 'single').p50), '≤ 1.2×', r(added(memoryWs, 'single').p50, added(relayWs, 'single').p50) <= 1.2),
    goal('added TTFT p50 at 100 steady streams, SSE / relay', ratio(added(memorySse, 'steady').p50, added(relaySse, 'steady').p50), '≤ 2×', r(added(memorySse, 'steady').p50, added(relaySse, 'steady').p50) <= 2),
    goal('added TTFT p99 at 100 steady streams, SSE / relay', ratio(added(memorySse, 'steady').p99, added(relaySse, 'steady').p99), '≤ 2×', r(added(memorySse, 'steady').p99, added(relaySse, 'steady').p99) <= 2),
    goal('JSON turns/s, memory store / bare relay', ratio(turnsPerSecond(memorySse), turnsPerSecond(relaySse)), '≥ 0.35×', r(turnsPerSecond(memorySse), turnsPerSecond(relaySse)) >= 0.35),
    goal('JSON turns/s, embedded store / memory store', ratio(turnsPerSecond(embeddedSse), turnsPerSecond(memorySse)), '≥ 0.5×', r(turnsPerSecond(embeddedSse), turnsPerSecond(memorySse)) >= 0.5),
    goal('added TTFT p50 at 1 stream, embedded − memory (SSE)', `${ms(added(embeddedSse, 'single').p50 - added(memorySse, 'single').p50)} ms`, '≤ 2 ms', added(embeddedSse, 'single').p50 - added(memorySse, 'single').p50 <= 2),
    goal('worst added TTFT p50 of this gateway / Portkey\'s (every row and load)', ratio(worstLatencyVsPortkey, 1), '≤ 0.3×', worstLatencyVsPortkey <= 0.3),
    goal('lowest JSON turns/s of this gateway / Portkey\'s', ratio(worstTurnsVsPortkey, 1), '≥ 1.5×', worstTurnsVsPortkey >= 1.5),
  ]

  return [
    `Upstream: ${PLAN.chunks} chunks ${PLAN.delayMs} ms apart (the first ${PLAN.delayMs} ms after the request); JSON turns: 10 chunks at once, ` +
    `autocannon with ${JSON_CONNECTIONS} connections, ${options.jsonMs / 1000} s per round. ${options.rounds} round(s); in each, every target runs ` +
    `${options.single} turns one at a time, ${options.steady} turns at ${CONCURRENCY} steady streams (starts spread over one stream's duration), ` +
    `${options.bursts} burst(s) of ${CONCURRENCY} started at once, then its JSON run. "Added" = TTFT through the target − straight from the upstream ` +
    'under the same load, milliseconds. CPU per JSON turn: user + system time of the serving process and its children (the embedded store\'s dynalite) ' +
    'over the run; RSS: the largest seen after a load (process and children). Portkey: `@portkey-ai/gateway` 1.15.2 on Hono 4.9.7 and ' +
    '`@hono/node-server` 1.13.5, headless, `x-portkey-provider: openai` and `x-portkey-custom-host` to the fake upstream.',
    '',
    table(
      ['through', 'streamed turns', 'added TTFT p50, 1 stream', 'added p50 / p99, 100 steady', 'added p50 / p99, burst of 100', 'JSON turns/s', 'CPU ms per JSON turn', 'peak RSS MiB'],
      rows,
    ),
    '',
    'The goals (issue 19), as ratios within this run:',
    '',
    table(['goal', 'this run', 'target', ''], goals),
  ].join('\n')
}
