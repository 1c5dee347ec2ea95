// `npm run bench [-- --quick] [-- --only=ttft,idle,fanout,rest,client,offline,safety,analytics,peer] [-- --profile] [-- --doc]`
// Runs every scenario on this machine in one go, with the fake upstream, the bare relays,
// dynalite and the gateway each in their own process, all on 127.0.0.1. Prints a markdown
// report, writes it to bench/results/latest.md, and with --doc also into docs/performance.md
// (between the `bench:results` markers). --profile writes V8 CPU profiles of the gateway under
// the TTFT, fan-out and REST loads to bench/profiles/ and lists their top functions.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gatewayEnv } from './gateway.ts'
import { startPeer } from './peer.ts'
import { startGateway, startScript, type Server } from './processes.ts'
import { monotonicUs, topFunctions, type Window } from './profile-summary.ts'
import { runAnalytics } from './scenarios/analytics.ts'
import { runClient } from './scenarios/client.ts'
import { runFanout } from './scenarios/fanout.ts'
import { runIdle } from './scenarios/idle.ts'
import { runOffline } from './scenarios/offline.ts'
import { runPeer } from './scenarios/peer.ts'
import { restReport, runRest } from './scenarios/rest.ts'
import { runSafety } from './scenarios/safety.ts'
import { runTtft } from './scenarios/ttft.ts'

const SCENARIOS = ['ttft', 'idle', 'fanout', 'rest', 'client', 'offline', 'safety', 'analytics', 'peer'] as const
/** Scenarios that need no servers: run in this process. */
const IN_PROCESS = new Set<string>(['offline', 'safety'])
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: SCENARIOS.join(',') },
    profile: { type: 'boolean', default: false },
    doc: { type: 'boolean', default: false },
  },
})
const only = new Set(args.only.split(','))
for (const name of only) if (!SCENARIOS.includes(name as never)) throw new Error(`--only: unknown scenario '${name}' (${SCENARIOS.join(', ')})`)
const quick = args.quick

// BENCH_GATEWAY_PORT lets two benchmark runs share a machine (the other servers pick free ports).
const GATEWAY_PORT = Number(process.env.BENCH_GATEWAY_PORT ?? 18_080)
const started = Date.now()
const servers: Server[] = []
const sections: string[] = []
/** Profiles to summarise, each over the time the gateway was up (start-up left out). */
const profiles = new Map<Server, { name: string; window: Window }>()

/** Starts a gateway (profiled when --profile is given and it has a profile name); stop() ends it. */
async function gateway(env: Record<string, string>, profileName?: string): Promise<Server> {
  const server = await startGateway({ port: GATEWAY_PORT, env, profileName: args.profile ? profileName : undefined })
  servers.push(server)
  if (args.profile && profileName) profiles.set(server, { name: profileName, window: { fromUs: monotonicUs(), toUs: Infinity } })
  return server
}

async function script(path: string, env?: Record<string, string>): Promise<Server> {
  const server = await startScript(path, env)
  servers.push(server)
  return server
}

async function stop(server: Server): Promise<void> {
  const profile = profiles.get(server)
  if (profile) profile.window.toUs = monotonicUs()
  await server.stop()
  if (servers.includes(server)) servers.splice(servers.indexOf(server), 1)
}

const phase = (name: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${name}`)

try {
  const needsServers = [...only].some((name) => !IN_PROCESS.has(name))
  const upstream = needsServers ? await script('bench/fake-upstream.ts') : undefined!
  const relays = needsServers ? await script('bench/relays.ts', { UPSTREAM_URL: upstream.url }) : undefined!

  if (only.has('ttft')) {
    phase('ttft')
    const gw = await gateway(gatewayEnv(upstream.url), 'ttft.cpuprofile')
    const { report } = await runTtft({
      upstreamUrl: upstream.url,
      gateway: gw,
      relays,
      // 40 tokens/s, 40 tokens: a short reply at a typical model's pace.
      plan: { mode: 'timed', chunks: 40, delayMs: 25 },
      rounds: quick ? 1 : 3,
      levels: quick
        ? [{ concurrency: 1, streams: 6 }, { concurrency: 100, streams: 200 }, { concurrency: 1000, streams: 1000 }]
        : [{ concurrency: 1, streams: 60 }, { concurrency: 100, streams: 1500 }, { concurrency: 1000, streams: 6000 }],
    })
    sections.push(`### 1. Time to first token and inter-token delay\n\n${report}`)
    await stop(gw)
  }

  if (only.has('idle')) {
    phase('idle')
    const { report } = await runIdle({
      startGateway: () => gateway(gatewayEnv(upstream.url, { HEARTBEAT_MS: '2000', OPENAI_TIMEOUT_MS: '600000' })),
      stopGateway: stop,
      connections: quick ? 2000 : 10_000,
      holdMs: quick ? 3000 : 10_000,
    })
    sections.push(`### 2. Idle connections\n\n${report}`)
  }

  if (only.has('fanout')) {
    phase('fanout')
    const gw = await gateway(gatewayEnv(upstream.url), 'fanout.cpuprofile')
    const { report } = await runFanout({
      gateway: gw, relays, gatewayDone: () => stop(gw), concurrency: 100, chunks: 100, durationMs: quick ? 2000 : 10_000,
    })
    sections.push(`### 3. Token fan-out\n\n${report}`)
  }

  if (only.has('rest')) {
    phase('rest')
    const durationMs = quick ? 3000 : 15_000
    const memory = await gateway(gatewayEnv(upstream.url), 'rest-memory.cpuprofile')
    const memoryRun = await runRest({ label: 'gateway, STORAGE=memory', url: `${memory.url}/convo_turn`, server: memory, gateway: true, durationMs })
    await stop(memory)
    const relayRun = await runRest({ label: 'bare node:http relay', url: `${relays.url}/turn`, server: relays, gateway: false, durationMs })
    const dynalite = await script('bench/dynalite.ts')
    const dynamo = await gateway(gatewayEnv(upstream.url, { STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: dynalite.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' }), 'rest-dynamo.cpuprofile')
    const dynamoRun = await runRest({ label: 'gateway, DynamoDB (dynalite)', url: `${dynamo.url}/convo_turn`, server: dynamo, gateway: true, durationMs })
    // dynalite is single-threaded and slow: at 50 connections its answers pass the adapter's timeouts.
    const dynamoLight = await runRest({ label: 'gateway, DynamoDB (dynalite)', url: `${dynamo.url}/convo_turn`, server: dynamo, gateway: true, durationMs, connections: 5 })
    await stop(dynamo)
    await stop(dynalite)
    sections.push(`### 4. REST turns\n\n${restReport([memoryRun, relayRun, dynamoRun, dynamoLight], relayRun, durationMs)}`)
  }

  if (only.has('client')) {
    phase('client')
    const { report } = await runClient({ upstreamUrl: upstream.url, calls: quick ? 1000 : 4000, concurrency: 20, rounds: quick ? 3 : 5, chunks: 10 })
    sections.push(`### 5. The upstream client\n\n${report}`)
  }

  if (only.has('offline')) {
    phase('offline')
    const { report } = await runOffline({ rounds: quick ? 3 : 10 })
    sections.push(`### 6. The offline responder\n\n${report}`)
  }

  if (only.has('safety')) {
    phase('safety')
    const { report } = runSafety({ rounds: quick ? 20 : 100, chunkIntervalMs: 25 })
    sections.push(`### 7. The safety layer\n\n${report}`)
  }
  if (only.has('analytics')) {
    phase('analytics')
    const dynalite = await script('bench/dynalite.ts')
    const dynamoEnv = (endpoint: string) => gatewayEnv(upstream.url, {
      STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
    })
    const { report } = await runAnalytics({
      startGateway: (endpoint) => gateway(dynamoEnv(endpoint)), stopGateway: stop, dynaliteUrl: dynalite.url, turns: quick ? 100 : 500,
    })
    await stop(dynalite)
    sections.push(`### 8. Analytics writes\n\n${report}`)
  }

  if (only.has('peer')) {
    phase('peer')
    const portkey = await startPeer(GATEWAY_PORT + 2)
    servers.push(portkey)
    const memory = await gateway(gatewayEnv(upstream.url), 'peer-memory.cpuprofile')
    // The default a newcomer runs: no STORAGE, no AWS, dynalite under a fresh DATA_DIR.
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-bench-embedded-'))
    const embedded = await startGateway({ port: GATEWAY_PORT + 1, env: gatewayEnv(upstream.url, { STORAGE: 'auto', DATA_DIR: dataDir }), profileName: args.profile ? 'peer-embedded.cpuprofile' : undefined })
    servers.push(embedded)
    try {
      const { report } = await runPeer({
        upstreamUrl: upstream.url, relays, portkey, memory, embedded,
        rounds: quick ? 1 : 3, single: quick ? 10 : 30, steady: quick ? 200 : 600, bursts: quick ? 1 : 2, jsonMs: quick ? 2000 : 5000,
      })
      sections.push(`### 9. Beside a peer: Portkey, the bare relay, both stores\n\n${report}`)
    } finally {
      await stop(embedded)
      await stop(memory)
      await stop(portkey)
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
} finally {
  for (const server of servers.reverse()) await server.stop()
}

for (const { name, window } of profiles.values()) {
  sections.push(`#### Profile: ${name}\n\n${topFunctions(`bench/profiles/${name}`, 15, window)}`)
}

const header =
  `Run ${new Date().toISOString()} (${quick ? '--quick' : 'full'}, ${((Date.now() - started) / 1000).toFixed(0)} s): ` +
  `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ` +
  `command \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``
const report = [header, ...sections].join('\n\n')
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/latest.md', `${report}\n`)
if (args.doc) {
  const doc = readFileSync('docs/performance.md', 'utf8')
  writeFileSync('docs/performance.md', doc.replace(/(<!-- bench:results -->\n)[\s\S]*?(\n<!-- \/bench:results -->)/, `$1${report}$2`))
}
console.log(report)
