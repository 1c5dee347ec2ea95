// 1. Time to first token and inter-token delay: the same timed upstream stream read straight from
// the fake upstream, through the gateway over SSE, over WebSocket and through the OpenAI-compatible
// facade (POST /v1/chat/completions, stream: true), at each concurrency. Targets take turns in rounds so a noisy neighbour hits all of them alike.
import { setTimeout as sleep } from 'node:timers/promises'
import { gatewayWsEnd, messageEvent, pool, sseTurn, upstreamDelta, WsClient, type StreamTiming } from '../clients.ts'
import { planMessage, type UpstreamPlan } from '../fake-upstream.ts'
import { authHeaders, token } from '../gateway.ts'
import type { Server } from '../processes.ts'
import { ms, summarize, table, type Summary } from '../stats.ts'

export interface TtftOptions {
  upstreamUrl: string
  gateway: Server
  /** The bare SSE relay: the same stream through the least a relay can do, for comparison. */
  relays: Server
  levels: Array<{ concurrency: number; streams: number }>
  rounds: number
  plan: UpstreamPlan
}

const TARGETS = ['direct', 'relay', 'sse', 'ws', 'openai'] as const
type Target = (typeof TARGETS)[number]

interface LevelResult {
  concurrency: number
  failed: Record<Target, number>
  /** The server's CPU time per turn it served, while only that target ran (not at 1 stream). */
  cpuMsPerTurn: Record<Target, number>
  ttft: Record<Target, Summary>
  gap: Record<Target, Summary>
}

export async function runTtft(options: TtftOptions): Promise<{ results: LevelResult[]; report: string }> {
  const message = planMessage(options.plan)
  const headers = authHeaders()
  const direct = (content: string) => sseTurn({
    url: `${options.upstreamUrl}/chat/completions`,
    body: JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content }] }),
    isDelta: upstreamDelta,
  })
  const sse = (content: string) => sseTurn({
    url: `${options.gateway.url}/convo_turn?stream=true`,
    headers,
    body: JSON.stringify({ animalId: 'lion', message: content }),
    isDelta: messageEvent,
  })
  const relay = (content: string) => sseTurn({
    url: `${options.relays.url}/sse`,
    body: JSON.stringify({ message: content }),
    isDelta: messageEvent,
  })
  // The facade's content chunks look like the upstream's (`"content":"w…`); its first, role chunk does not.
  const openai = (content: string) => sseTurn({
    url: `${options.gateway.url}/v1/chat/completions`,
    headers,
    body: JSON.stringify({ model: 'lion', stream: true, messages: [{ role: 'user', content }] }),
    isDelta: upstreamDelta,
  })
  const wsFrame = (content: string) => JSON.stringify({ type: 'turn', animalId: 'lion', message: content })
  const wsUrl = `${options.gateway.url.replace('http', 'ws')}/ws?access_token=${token()}`

  // Warm up every path (JIT, keep-alive sockets to the upstream) with fast turns before measuring.
  const burst = planMessage({ mode: 'burst', chunks: options.plan.chunks, delayMs: 0 })
  const warm = await pool(20, 20, () => WsClient.open(wsUrl, gatewayWsEnd))
  await pool(60, 20, () => direct(burst))
  await pool(60, 20, () => relay(burst))
  await pool(60, 20, () => sse(burst))
  await pool(60, 20, (_, worker) => warm[worker].turn(wsFrame(burst)))
  await pool(60, 20, () => openai(burst))
  warm.forEach((client) => client.close())

  const results: LevelResult[] = []
  for (const { concurrency, streams } of options.levels) {
    const sockets = await pool(concurrency, 200, () => WsClient.open(wsUrl, gatewayWsEnd))
    const timings = perTarget((): StreamTiming[] => [])
    const failed = perTarget(() => 0)
    const cpuMs = perTarget(() => 0)
    const server = (target: Target) => (target === 'relay' ? options.relays : options.gateway)
    const run = async (target: Target, count: number) => {
      const cpuBefore = server(target).cpuMs()
      // Each worker of the pool has its own kiosk socket.
      const turn = target === 'ws' ? (worker: number) => sockets[worker].turn(wsFrame(message))
        : () => ({ direct, relay, sse, openai })[target](message)
      // Workers start spread over one stream's duration, so turns then start at a steady rate
      // (concurrency / stream duration per second) rather than in waves of `concurrency` at once.
      const started = new Set<number>()
      const spacingMs = (options.plan.chunks * options.plan.delayMs) / concurrency
      // A failed turn is counted (and reported), not fatal: an overloaded server is a result too.
      const outcomes = await pool(count, concurrency, async (_, worker) => {
        if (!started.has(worker)) {
          started.add(worker)
          await sleep(worker * spacingMs)
        }
        return turn(worker).catch(() => undefined)
      })
      for (const timing of outcomes) {
        if (timing?.deltas.length) timings[target].push(timing)
        else failed[target]++
      }
      cpuMs[target] += server(target).cpuMs() - cpuBefore
    }
    if (concurrency === 1) {
      // One stream at a time per target: they run side by side, so they share the noise.
      await Promise.all(TARGETS.map((target) => run(target, streams)))
    } else {
      const perRound = Math.ceil(streams / options.rounds)
      for (let round = 0; round < options.rounds; round++) {
        for (const target of TARGETS) await run(target, perRound)
      }
    }
    sockets.forEach((socket) => socket.close())
    const ttft = (list: StreamTiming[]) => summarize(list.map((t) => t.deltas[0] - t.start))
    const gap = (list: StreamTiming[]) => summarize(list.flatMap((t) => t.deltas.slice(1).map((at, i) => at - t.deltas[i])))
    results.push({
      concurrency,
      failed,
      cpuMsPerTurn: perTarget((target) => (concurrency === 1 ? NaN : cpuMs[target] / streams)),
      ttft: perTarget((target) => ttft(timings[target])),
      gap: perTarget((target) => gap(timings[target])),
    })
    console.error(`ttft: ${concurrency} concurrent done`)
  }
  return { results, report: ttftReport(results, options) }
}

const perTarget = <T>(value: (target: Target) => T) => Object.fromEntries(TARGETS.map((t) => [t, value(t)])) as Record<Target, T>

const LABELS = { relay: 'bare SSE relay', sse: 'gateway SSE', ws: 'gateway WebSocket', openai: 'gateway OpenAI facade' }

function ttftReport(results: LevelResult[], options: TtftOptions): string {
  const rows: Array<Array<string | number>> = []
  for (const r of results) {
    for (const via of ['relay', 'sse', 'ws', 'openai'] as const) {
      rows.push([
        r.concurrency, LABELS[via], `${r.ttft[via].count}${r.failed[via] ? ` (+${r.failed[via]} failed)` : ''}`,
        `${ms(r.ttft.direct.p50)} / ${ms(r.ttft.direct.p99)}${r.failed.direct ? ` (${r.failed.direct} failed)` : ''}`, `${ms(r.ttft[via].p50)} / ${ms(r.ttft[via].p99)}`,
        `**${ms(r.ttft[via].p50 - r.ttft.direct.p50)}** / **${ms(r.ttft[via].p99 - r.ttft.direct.p99)}**`,
        `${ms(r.gap.direct.p50)} / ${ms(r.gap.direct.p99)}`, `${ms(r.gap[via].p50)} / ${ms(r.gap[via].p99)}`,
        `${ms(r.gap[via].p50 - r.gap.direct.p50)} / ${ms(r.gap[via].p99 - r.gap.direct.p99)}`,
        ms(r.cpuMsPerTurn[via]),
      ])
    }
  }
  return [
    `Upstream: ${options.plan.chunks} chunks, ${options.plan.delayMs} ms apart (the first ${options.plan.delayMs} ms after the request). ` +
    'Milliseconds, p50 / p99; "added" = through the gateway minus straight from the upstream. ' +
    `${options.rounds} rounds per level, the targets taking turns; at 1 stream at once the five targets (direct, relay, ` +
    'gateway SSE, gateway WebSocket, gateway OpenAI facade) run side by side (one stream each), so the gateway then carries three. Clients start spread over one stream\'s duration, then run turns ' +
    'back to back: a steady arrival rate of (streams at once) / (stream duration). Server CPU per turn: user + system ' +
    'time of the serving process while that target ran, over its turns (n/a at 1 stream, where the targets overlap).',
    '',
    table(
      ['streams at once', 'through', 'turns', 'TTFT direct', 'TTFT through', 'added TTFT', 'inter-token direct', 'inter-token through', 'added inter-token', 'server CPU ms per turn'],
      rows,
    ),
  ].join('\n')
}
