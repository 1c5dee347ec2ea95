// 4. REST: non-streaming POST /convo_turn (JSON answer) under autocannon, against the gateway with
// each store and against the bare relay doing the same work (ask the upstream, collect, answer JSON).
import { createRequire } from 'node:module'
import { planMessage } from '../fake-upstream.ts'
import { authHeaders } from '../gateway.ts'
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
  /** The gateway wants a token and an animal; the relay only the message. */
  gateway: boolean
  durationMs: number
}

export interface RestRun {
  label: string
  result: AutocannonResult
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
    connections: REST_CONNECTIONS,
  }
  await autocannon({ ...request, duration: 1 }) // warm-up
  const result = await autocannon({ ...request, duration: options.durationMs / 1000 })
  if (result.non2xx > 0 || result.errors > 0) console.error(`rest: ${options.label}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  console.error(`rest: ${options.label} done`)
  return { label: options.label, result }
}

export function restReport(runs: RestRun[], ceiling: RestRun, durationMs: number): string {
  return [
    `autocannon, ${REST_CONNECTIONS} connections, ${durationMs / 1000} s each (after a 1 s warm-up); each turn is ` +
    `${REST_CHUNKS} upstream chunks sent at once, collected into one JSON answer. A new session per turn.`,
    '',
    table(
      ['target', 'turns/s', 'of the bare relay', 'latency p50 (ms)', 'latency p99 (ms)', 'non-2xx + errors'],
      runs.map(({ label, result }) => [
        label, `**${int(result.requests.average)}**`,
        label === ceiling.label ? '(ceiling)' : pct(result.requests.average / ceiling.result.requests.average),
        ms(result.latency.p50), ms(result.latency.p99), result.non2xx + result.errors + result.timeouts,
      ]),
    ),
  ].join('\n')
}
