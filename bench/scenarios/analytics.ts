// 7. Analytics: what the per-turn aggregate write costs. Three measurements:
//   - DynamoDB requests per stored turn, by operation and table, counted by a proxy between a
//     gateway (offline responder) and dynalite: the analytics table should see exactly one
//     UpdateItem per turn and nothing else;
//   - the analytics item's size over a busy simulated day (the size sets the WCU an UpdateItem
//     costs: the larger of the item before and after, rounded up per KB);
//   - the recorder's CPU per turn (question understanding, sentiment, building the update).
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { AnalyticsRecorder } from '../../src/analytics/recorder.ts'
import { sentimentOf } from '../../src/analytics/sentiment.ts'
import type { DayIncrement } from '../../src/analytics/store.ts'
import type { Turn } from '../../src/core/types.ts'
import { understandQuestion } from '../../src/llm/offline-understand.ts'
import { seedAnimals } from '../../src/seed/index.ts'
import { authHeaders } from '../gateway.ts'
import type { Server } from '../processes.ts'
import { int, table } from '../stats.ts'

export interface AnalyticsOptions {
  /** Starts a gateway on DynamoDB at `endpoint`. */
  startGateway(endpoint: string): Promise<Server>
  stopGateway(server: Server): Promise<void>
  dynaliteUrl: string
  turns: number
}

const QUESTIONS = [
  'What do you eat?', 'Where do you live?', 'How fast can you run?', 'Do you have babies?', 'How big are you?',
  'Can you drive a car?', 'Do you like pizza?', 'Can you do maths?', 'I love you!', 'Why are you so sleepy?',
]

// 8 x 10 distinct questions the lion cannot answer (understandQuestion: not answerable).
const COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'pink', 'silver']
const THINGS = ['hat', 'sock', 'vase', 'kite', 'drum', 'lamp', 'chair', 'book', 'cup', 'spoon']

/** Counts each DynamoDB request by X-Amz-Target and TableName, passing it on unchanged. */
async function countingProxy(target: string) {
  const counts = new Map<string, number>()
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop()
      const tables = operation === 'TransactWriteItems'
        ? ['(transaction)']
        : [String((JSON.parse(body.toString() || '{}') as { TableName?: string }).TableName ?? '-')]
      for (const name of tables) counts.set(`${operation} ${name}`, (counts.get(`${operation} ${name}`) ?? 0) + 1)
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers)
        answer.pipe(res)
      })
      forward.on('error', () => res.destroy())
      forward.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** DynamoDB's item size: UTF-8 names plus values (numbers ~1 byte per 2 digits + 1). */
function itemBytes(item: Record<string, unknown>): number {
  const number = (n: number) => Math.ceil(String(Math.abs(n)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1
  let size = 0
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name)
    if (typeof value === 'number') size += number(value)
    else if (typeof value === 'string') size += Buffer.byteLength(value)
    else if (value instanceof Set) for (const n of value) size += number(n as number)
  }
  return size
}

export async function runAnalytics(options: AnalyticsOptions): Promise<{ report: string }> {
  // 1. Requests per turn through a real gateway.
  const proxy = await countingProxy(options.dynaliteUrl)
  const gateway = await options.startGateway(proxy.url)
  proxy.counts.clear() // start-up: table checks and the seed
  const concurrency = 5
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < options.turns) {
      const i = next++
      const res = await fetch(`${gateway.url}/convo_turn`, {
        method: 'POST', headers: { ...authHeaders(`visitor-${i % 50}`), 'content-type': 'application/json' },
        body: JSON.stringify({ animalId: 'lion', message: QUESTIONS[i % QUESTIONS.length] }),
      })
      if (res.status !== 200) throw new Error(`analytics: turn answered ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
    }
  }))
  await sleep(500) // the last turns' counts go out after their answers
  await options.stopGateway(gateway)
  await proxy.close()
  const perTurn = [...proxy.counts].sort().map(([key, count]) => [key.replace(/^(\S+) /, '`$1` '), (count / options.turns).toFixed(2)])

  // 2. The item over a busy day: 2,000 turns from 600 visitors, 80 distinct unanswered questions.
  const lion = seedAnimals().find((a) => a.animalId === 'lion')!
  let item: Record<string, unknown> = { animalId: 'lion', day: '2030-03-01', expiresAt: 1_900_000_000 }
  let wcu = 0
  const apply = (increment: DayIncrement) => {
    const before = itemBytes(item)
    const next = { ...item }
    for (const [name, amount] of Object.entries(increment.counters)) next[name] = ((next[name] as number | undefined) ?? 0) + amount
    next.visitorSketch = new Set([...((next.visitorSketch as Set<number> | undefined) ?? []), ...increment.sketch])
    item = next
    wcu += Math.ceil(Math.max(before, itemBytes(item)) / 1024)
  }
  const sizes: [number, number][] = []
  const recorder = new AnalyticsRecorder({
    store: { add: async (_animal, _day, increment) => apply(increment), days: async () => [] },
    understand: understandQuestion, sentiment: sentimentOf, log: { debug() {}, info() {}, warn() {}, error() {} },
  })
  const dayTurns = 2000
  for (let i = 0; i < dayTurns; i++) {
    const unanswered = i % 5 === 0
    const k = i / 5
    const message = unanswered ? `Can you knit a ${COLOURS[k % 8]} ${THINGS[Math.floor(k / 8) % 10]}?` : QUESTIONS[i % 5]!
    await recorder.record(fakeTurn(i, `visitor-${i % 600}`, message, 120 + (i % 40) * 50), lion, i % 4 === 0)
    if ([100, 500, 1000, dayTurns - 1].includes(i)) sizes.push([i + 1, itemBytes(item)])
  }

  // 3. The recorder's CPU per turn (a store that does nothing).
  const idle = new AnalyticsRecorder({
    store: { add: async () => {}, days: async () => [] },
    understand: understandQuestion, sentiment: sentimentOf, log: { debug() {}, info() {}, warn() {}, error() {} },
  })
  const cpuTurns = 5000
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  for (let i = 0; i < cpuTurns; i++) await idle.record(fakeTurn(i, `v-${i}`, QUESTIONS[i % QUESTIONS.length]!, 300), lion, false)
  const cpu = process.cpuUsage(cpuBefore)
  const cpuUsPerTurn = (cpu.user + cpu.system) / cpuTurns
  const wallUsPerTurn = ((performance.now() - wallBefore) * 1000) / cpuTurns

  return {
    report: [
      `${options.turns} turns (fake upstream, 10 chunks each, 5 at a time, 50 visitors, new session each) through a gateway on dynalite, every DynamoDB request counted by a proxy; ` +
      'dynalite has no transactions, so a turn\'s save shows as its sequential writes (on AWS: one `TransactWriteItems`; the few ' +
      'counted here are the first attempts, before the storage switched to sequential writes).',
      '',
      table(['request', 'per stored turn'], perTurn),
      '',
      `The analytics item over a simulated busy day for one animal (${int(dayTurns)} turns, 600 visitors, a fifth of the questions unanswered among 80 distinct ones, ` +
      'at most 50 listed), sizes by DynamoDB\'s rules:',
      '',
      table(['after turns', 'item size (bytes)', 'WCU per UpdateItem then'], sizes.map(([turns, bytes]) => [int(turns), int(bytes), Math.ceil(bytes / 1024)])),
      '',
      `Over that day the analytics writes cost **${int(wcu)} WCU**, ${(wcu / dayTurns).toFixed(2)} WCU per turn on average. ` +
      `Recorder CPU per turn (understanding, sentiment, the update's counters): **${cpuUsPerTurn.toFixed(0)} µs** (${wallUsPerTurn.toFixed(0)} µs wall), ` +
      'spent after the turn\'s `storage` event, never before its first token.',
    ].join('\n'),
  }
}

function fakeTurn(i: number, userId: string, message: string, latencyMs: number): Turn {
  return {
    turnId: `t${i}`, sessionId: `s${i}`, userId, animalId: 'lion', userMessage: message, reply: '…', status: i % 50 === 0 ? 'cancelled' : 'complete',
    createdAt: '2030-03-01T12:00:00.000Z', usage: { promptTokens: 250, completionTokens: 40, totalTokens: 290 }, latencyMs, firstTokenMs: latencyMs / 4, model: 'offline',
  }
}
