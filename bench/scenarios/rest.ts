// 4. REST: non-streaming POST /convo_turn (JSON answer) under autocannon, against the gateway with
// each store and against the bare relay doing the same work (ask the upstream, collect, answer JSON).
import { createRequire } from 'node:module'
import { planMessage } from '../fake-upstream.ts'
import { authHeaders } from '../gateway.ts'
import type { Server } from '../processes.ts'
import { int, ms, pct, table } from '../stats.ts'

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
  timeouts: number
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export interface RestOptions {
  label: string
  url: string
  server: Server
  /** The gateway wants a token and an animal; the relay only the message. */
  gateway: boolean
  durationMs: number
  connections?: number
}

export interface RestRun {
  label: string
  connections: number
  result: AutocannonResult
  /** CPU time the serving process used during the measured run. */
  cpuMs: number
}

export const REST_CONNECTIONS = 50
const REST_CHUNKS = 10

export async function runRest(options: RestOptions): Promise<RestRun> {
  const message = planMessage({ mode: 'burst', chunks: REST_CHUNKS, delayMs: 0 })
  const request = {
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.gateway ? authHeaders() : {}) },
    body: JSON.stringify(options.gateway ? { animalId: 'lion', message } : { message }),
    connections: options.connections ?? REST_CONNECTIONS,
  }
  await autocannon({ ...request, duration: 1 }) // warm-up
  const cpuBefore = options.server.cpuMs()
  const result = await autocannon({ ...request, duration: options.durationMs / 1000 })
  const cpuMs = options.server.cpuMs() - cpuBefore
  if (result.non2xx > 0 || result.errors > 0) console.error(`rest: ${options.label}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  console.error(`rest: ${options.label} done`)
  return { label: options.label, connections: request.connections, result, cpuMs }
}

export function restReport(runs: RestRun[], ceiling: RestRun, durationMs: number): string {
  return [
    `autocannon, ${REST_CONNECTIONS} connections unless the row says otherwise, ${durationMs / 1000} s each (after a 1 s warm-up); each turn is ` +
    `${REST_CHUNKS} upstream chunks sent at once, collected into one JSON answer. A new session per turn.`,
    '',
    table(
      ['target', 'turns/s', 'of the bare relay', 'latency p50 (ms)', 'latency p99 (ms)', 'non-2xx + errors', 'server CPU ms per turn'],
      runs.map(({ label, connections, result, cpuMs }) => [
        connections === REST_CONNECTIONS ? label : `${label}, ${connections} connections`, `**${int(result.requests.average)}**`,
        label === ceiling.label ? '(ceiling)' : pct(result.requests.average / ceiling.result.requests.average),
        ms(result.latency.p50), ms(result.latency.p99), result.non2xx + result.errors + result.timeouts,
        (cpuMs / result.requests.total).toFixed(2),
      ]),
    ),
  ].join('\n')
}
