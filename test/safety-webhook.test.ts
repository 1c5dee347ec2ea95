// The safety webhook against a real local HTTP server: a receiver that fails then succeeds, one
// that is always down, one that is slow, one that refuses; the queue bound; the metrics; and
// the app end to end (a turn the safety layer flags reaches SAFETY_WEBHOOK_URL, /metrics and
// /safety/events). Backoffs are a few ms so the test stays fast.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from '@prometheus-io/client'
import t from 'tap'
import { SafetyAlerts, webhookPayload } from '../src/alerts/safety-alerts.ts'
import { WebhookQueue, type DeliveryOutcome } from '../src/alerts/webhook.ts'
import { silentLog } from '../src/core/log.ts'
import type { Turn } from '../src/core/types.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

interface Receiver {
  url: string
  received: unknown[]
  /** Resolves when `count` requests have arrived. */
  waitFor(count: number): Promise<void>
  close(): Promise<void>
}

/** A webhook receiver; `answer` decides each response (by 0-based request number). */
async function receiver(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<Receiver> {
  const received: unknown[] = []
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    received.push({ contentType: req.headers['content-type'], method: req.method, body: JSON.parse(body) })
    for (const waiter of waiters) if (received.length >= waiter.count) waiter.resolve()
    answer(received.length - 1, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    waitFor: (count) => new Promise((resolve) => {
      if (received.length >= count) resolve()
      else waiters.push({ count, resolve })
    }),
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/hook`
}

function queue(url: string, outcomes: DeliveryOutcome[], overrides: Partial<ConstructorParameters<typeof WebhookQueue>[0]> = {}) {
  return new WebhookQueue({ url, timeoutMs: 2000, maxAttempts: 4, backoffMs: 5, queueSize: 100, log: silentLog, onOutcome: (o) => outcomes.push(o), ...overrides })
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5))
}

const flagged: Turn = {
  turnId: 't-1', sessionId: 's-1', userId: 'kid-7', animalId: 'lion', userMessage: 'I lost my mum, my name is [name]', reply: 'Stay where you are…',
  status: 'complete', createdAt: '2030-01-01T10:00:00.000Z', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 3, model: 'offline',
  safety: { action: 'support', flags: [{ category: 'personal_info', severity: 'low', source: 'input' }, { category: 'lost_child', severity: 'high', source: 'input' }] },
}

t.test('the payload: ids, category, severity, action, animal and time; nothing anyone typed', async (t) => {
  const payload = webhookPayload(flagged)!
  t.same(payload, {
    type: 'safety.flag', turnId: 't-1', sessionId: 's-1', userId: 'kid-7', animalId: 'lion', category: 'lost_child', severity: 'high',
    action: 'support', flags: flagged.safety!.flags, createdAt: '2030-01-01T10:00:00.000Z',
  })
  t.notMatch(JSON.stringify(payload), /mum|Stay where/, 'no message or reply text')
  t.equal(webhookPayload({ ...flagged, safety: { action: 'allow', flags: [{ category: 'profanity', severity: 'medium', source: 'input' }] } }), undefined, 'only high flags are sent')
  t.equal(webhookPayload({ ...flagged, safety: undefined }), undefined)
})

t.test('a receiver that fails twice, then succeeds: delivered on the third attempt', async (t) => {
  const hook = await receiver((n, _req, res) => res.writeHead(n < 2 ? 503 : 204).end())
  t.teardown(() => hook.close())
  const outcomes: DeliveryOutcome[] = []
  const webhook = queue(hook.url, outcomes)
  t.equal(webhook.enqueue({ hello: 1 }), true)
  await until(() => outcomes.length === 1)
  t.same(outcomes, ['delivered'])
  t.equal(hook.received.length, 3, 'two failures, one success, no more')
  t.same(hook.received[2], { contentType: 'application/json', method: 'POST', body: { hello: 1 } })
  await webhook.close(100)
})

t.test('a receiver that is always down: bounded attempts, then given up', async (t) => {
  const outcomes: DeliveryOutcome[] = []
  const webhook = queue(await deadUrl(), outcomes, { maxAttempts: 3 })
  webhook.enqueue({ a: 1 })
  webhook.enqueue({ b: 2 })
  await until(() => outcomes.length === 2)
  t.same(outcomes, ['failed', 'failed'])
  t.equal(webhook.pending, 0, 'nothing left behind')

  const refusing = await receiver((_n, _req, res) => res.writeHead(400).end())
  t.teardown(() => refusing.close())
  const refused: DeliveryOutcome[] = []
  const strict = queue(refusing.url, refused)
  strict.enqueue({ c: 3 })
  await until(() => refused.length === 1)
  t.same(refused, ['failed'])
  t.equal(refusing.received.length, 1, 'a 400 is not retried: the same payload would be refused again')
  await Promise.all([webhook.close(100), strict.close(100)])
})

t.test('a slow receiver: enqueue never waits; each attempt is cut at the timeout; the queue is bounded', async (t) => {
  const held: ServerResponse[] = []
  const slow = await receiver((_n, _req, res) => { held.push(res) })
  t.teardown(async () => {
    for (const res of held) res.destroy()
    await slow.close()
  })
  const outcomes: DeliveryOutcome[] = []
  const webhook = queue(slow.url, outcomes, { timeoutMs: 150, maxAttempts: 2, queueSize: 2 })
  const accepted = Array.from({ length: 10 }, (_, i) => webhook.enqueue({ i }))
  t.equal(slow.received.length, 0, 'enqueue returned before any request reached the receiver')
  // Four workers take one payload each, two wait in the queue, the other four are dropped.
  t.same(accepted, [true, true, true, true, true, true, false, false, false, false])
  t.same(outcomes, ['dropped', 'dropped', 'dropped', 'dropped'])
  await until(() => outcomes.length === 10)
  t.same(outcomes.slice(4), Array(6).fill('failed'), 'every accepted payload timed out twice and was given up')
  t.equal(slow.received.length, 12, 'two attempts each')
  await webhook.close(100)
})

t.test('close gives pending deliveries a grace period, then abandons them', async (t) => {
  const slow = await receiver(() => {})
  t.teardown(() => slow.close())
  const outcomes: DeliveryOutcome[] = []
  const webhook = queue(slow.url, outcomes, { timeoutMs: 60_000 })
  webhook.enqueue({ x: 1 })
  await slow.waitFor(1)
  await webhook.close(50)
  t.same(outcomes, ['failed'], 'the in-flight request was abandoned')
  t.equal(webhook.enqueue({ y: 2 }), false, 'nothing is accepted after close')
})

t.test('SafetyAlerts: safety_events_total per flag; high flags posted; others not', async (t) => {
  const hook = await receiver((_n, _req, res) => res.writeHead(200).end())
  t.teardown(() => hook.close())
  const registry = new Registry()
  const alerts = new SafetyAlerts({ registry, log: silentLog, webhook: { url: hook.url, timeoutMs: 1000, maxAttempts: 2, backoffMs: 5, queueSize: 10 } })
  alerts.turnFlagged(flagged)
  alerts.turnFlagged({ ...flagged, turnId: 't-2', safety: { action: 'redirect', flags: [{ category: 'profanity', severity: 'medium', source: 'input' }] } })
  await hook.waitFor(1)
  await alerts.close(1000)
  t.equal(hook.received.length, 1, 'only the turn with a high flag is posted')
  t.match(hook.received[0], { body: { turnId: 't-1', category: 'lost_child', severity: 'high' } })
  const metrics = await registry.metrics()
  t.match(metrics, /safety_events_total\{category="lost_child",action="support",source="input"\} 1\n/)
  t.match(metrics, /safety_events_total\{category="personal_info",action="support",source="input"\} 1\n/)
  t.match(metrics, /safety_events_total\{category="profanity",action="redirect",source="input"\} 1\n/)
  t.match(metrics, /safety_events_total\{category="self_harm",action="support",source="output"\} 0\n/, 'every series exists from the start')
  t.match(metrics, /safety_webhook_deliveries_total\{outcome="delivered"\} 1\n/)
})

t.test('the app: a turn the safety layer flags reaches SAFETY_WEBHOOK_URL, /metrics and GET /safety/events', async (t) => {
  const hook = await receiver((_n, _req, res) => res.writeHead(200).end())
  t.teardown(() => hook.close())
  const { url, auth } = await startApp(t, { STORAGE: 'memory', SAFETY_WEBHOOK_URL: hook.url })
  const res = await fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth('kid-7'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'penguin', message: "I'm lost and I can't find my mum" }),
  })
  t.equal(res.status, 200)
  const answer = await json(res)
  const history = await json(fetch(`${url}/convo_history?sessionId=${answer.sessionId}`, { headers: auth('kid-7') }))
  t.match(history.turns, [{ turnId: answer.turnId, safety: { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] } }], 'the safety layer flagged it, and the flag is stored')
  await hook.waitFor(1)
  t.match(hook.received[0], { body: { type: 'safety.flag', turnId: answer.turnId, sessionId: answer.sessionId, userId: 'kid-7', animalId: 'penguin', category: 'lost_child', severity: 'high', action: 'support' } })
  t.notMatch(JSON.stringify(hook.received[0]), /can't find|mum/, 'never what the child typed')
  const events = await json(fetch(`${url}/safety/events`, { headers: auth('keeper', 'zookeeper') }))
  t.match(events.events, [{ turnId: answer.turnId, userId: 'kid-7', category: 'lost_child', severity: 'high', source: 'input', action: 'support' }])
  const flaggedSessions = await json(fetch(`${url}/convo_history?flagged=true&userId=kid-7`, { headers: auth('keeper', 'zookeeper') }))
  t.match(flaggedSessions.sessions, [{ sessionId: answer.sessionId, flagged: true }])
  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.match(metrics, /safety_events_total\{category="lost_child",action="support",source="input"\} 1\n/)
  t.match(metrics, /safety_webhook_deliveries_total\{outcome="delivered"\} 1\n/)

  const { url: quiet } = await startApp(t, { STORAGE: 'memory' })
  const plain = await (await fetch(`${quiet}/metrics`)).text()
  t.match(plain, /safety_events_total\{/, 'counted without a webhook too')
  t.notMatch(plain, /safety_webhook_deliveries_total/, 'no webhook metrics without a webhook')
})
