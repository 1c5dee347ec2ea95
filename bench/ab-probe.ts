// A/B comparison of two checkouts' server CPU per REST (or SSE) turn, for a machine shared with
// other work: both gateways run at once on the same fake upstream and are measured in short
// alternating rounds, so background load hits both alike; the per-round ratio B/A is what to read.
//   node bench/ab-probe.ts <checkout A> [rounds=16] [seconds=2] [path=/convo_turn]
// A is another checkout of this repository (e.g. `git archive <commit> | tar -x -C /tmp/a`, with
// node_modules linked); B is the current directory. Ports: BENCH_GATEWAY_PORT for B, 10,000 above it for A.
import { createRequire } from 'node:module'
import { planMessage, startFakeUpstream } from './fake-upstream.ts'
import { authHeaders, gatewayEnv } from './gateway.ts'
import { startGateway, type Server } from './processes.ts'
import { median } from './stats.ts'

type Autocannon = (options: Record<string, unknown>) => Promise<{ requests: { total: number }; non2xx: number; errors: number }>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const [dirA, roundsArg, secondsArg, path = '/convo_turn'] = process.argv.slice(2)
if (!dirA) throw new Error('usage: node bench/ab-probe.ts <checkout A> [rounds] [seconds] [path]')
const rounds = Number(roundsArg ?? 16)
const seconds = Number(secondsArg ?? 2)
const portB = Number(process.env.BENCH_GATEWAY_PORT ?? 18080)

const upstream = await startFakeUpstream()
const gateway = (cwd: string, port: number) => startGateway({ port, env: gatewayEnv(upstream.url), cwd })

const a = await gateway(dirA, portB + 10_000)
const b = await gateway(process.cwd(), portB)
const body = JSON.stringify({ animalId: 'lion', message: planMessage({ mode: 'burst', chunks: 10, delayMs: 0 }) })
const headers = { 'content-type': 'application/json', ...authHeaders() }

/** One round against one gateway: server CPU ms per turn. */
async function cpuPerTurn(target: Server): Promise<number> {
  const before = target.cpuMs()
  const result = await autocannon({ url: `${target.url}${path}`, method: 'POST', headers, body, connections: 50, duration: seconds })
  if (result.non2xx || result.errors) console.error(`${target.url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return (target.cpuMs() - before) / result.requests.total
}

await cpuPerTurn(a) // warm-up
await cpuPerTurn(b)
const perTurnA: number[] = []
const perTurnB: number[] = []
for (let i = 0; i < rounds; i++) {
  for (const target of i % 2 ? [a, b] : [b, a]) (target === a ? perTurnA : perTurnB).push(await cpuPerTurn(target))
}

const ratios = perTurnA.map((cpuA, i) => perTurnB[i] / cpuA)
console.log(`A (${dirA}): median ${median(perTurnA).toFixed(3)} ms CPU per turn`)
console.log(`B (${process.cwd()}): median ${median(perTurnB).toFixed(3)} ms CPU per turn`)
console.log(`B/A per round: median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`)
console.log(`RSS at the end: A ${(a.rss() / 2 ** 20).toFixed(0)} MiB, B ${(b.rss() / 2 ** 20).toFixed(0)} MiB`)
await a.stop()
await b.stop()
await upstream.close()
