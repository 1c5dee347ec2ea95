// Retention: every stored item carries the TTL attribute (RETENTION_DAYS), and TTL is enabled on
// the tables the app (or `npm run tables -- --create`) creates. dynalite has no TTL API, so the
// "enabled" half runs through a proxy that adds it; against bare dynalite the truth is "unsupported".
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { loadConfig } from '../src/config.ts'
import type { Turn } from '../src/core/types.ts'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { DynamoStorage } from '../src/storage/dynamo.ts'
import { ensureTables } from '../src/storage/tables.ts'
import { TTL_ATTRIBUTE } from '../src/storage/tables.ts'
import { startApp } from './helpers/app.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { json } from './helpers/http.ts'
import { eventually, sleep } from './helpers/stream.ts'
import { startTtlProxy } from './helpers/ttl-proxy.ts'

const DAY = 86_400
const dynalite = await startDynalite()
t.teardown(() => dynalite.close())
const proxy = await startTtlProxy(dynalite.endpoint)
t.teardown(() => proxy.close())
const raw = DynamoDBDocumentClient.from(createDynamoClient({ endpoint: dynalite.endpoint }))
t.teardown(() => raw.destroy())

function tableEnv(): Record<string, string> {
  const prefix = `r${randomUUID().slice(0, 8)}`
  return {
    CONVERSATION_DYNAMO_TABLE_NAME: `${prefix}-conversations`,
    CONVERSATION_SESSION_TABLE_NAME: `${prefix}-sessions`,
    ANIMAL_DYNAMO_TABLE_NAME: `${prefix}-animals`,
    FAMILY_DYNAMO_TABLE_NAME: `${prefix}-families`,
    SAFETY_DYNAMO_TABLE_NAME: `${prefix}-safety`,
    ANALYTICS_DYNAMO_TABLE_NAME: `${prefix}-analytics`,
  }
}

const ttlTables = (env: Record<string, string>) =>
  [env.CONVERSATION_DYNAMO_TABLE_NAME!, env.CONVERSATION_SESSION_TABLE_NAME!, env.SAFETY_DYNAMO_TABLE_NAME!, env.ANALYTICS_DYNAMO_TABLE_NAME!].sort()

t.test('the app enables TTL on the conversations, sessions, safety and analytics tables it creates', async (t) => {
  const env = tableEnv()
  await startApp(t, { DYNAMODB_ENDPOINT: proxy.url, ...env })
  const asked = proxy.updates.filter((u) => Object.values(env).includes(u.TableName))
  t.same(asked.map((u) => u.TableName).sort(), ttlTables(env))
  for (const update of asked) t.same(update.TimeToLiveSpecification, { AttributeName: TTL_ATTRIBUTE, Enabled: true })

  await startApp(t, { DYNAMODB_ENDPOINT: proxy.url, ...env })
  t.equal(proxy.updates.filter((u) => Object.values(env).includes(u.TableName)).length, ttlTables(env).length, 'a second start finds TTL enabled and leaves it')
})

t.test('turns, pointers, claims and sessions carry expiresAt = save time + RETENTION_DAYS', async (t) => {
  const env = tableEnv()
  const { url, auth } = await startApp(t, { DYNAMODB_ENDPOINT: dynalite.endpoint, RETENTION_DAYS: '7', ...env })
  const before = Math.floor(Date.now() / 1000)
  const res = await fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('alice'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'How old are you?', clientTurnId: 'ttl-1' }),
  })
  t.equal(res.status, 200)
  const { sessionId, turnId } = await json(res)
  const after = Math.ceil(Date.now() / 1000)

  const { Items = [] } = await raw.send(new ScanCommand({ TableName: env.CONVERSATION_DYNAMO_TABLE_NAME, ConsistentRead: true }))
  const items = Items.filter((item) => item.turnId === turnId)
  t.same(items.map((item) => item.kind).sort(), ['clientTurn', 'turn', 'turnPointer'])
  const session = (await raw.send(new GetCommand({ TableName: env.CONVERSATION_SESSION_TABLE_NAME, Key: { sessionId }, ConsistentRead: true }))).Item!
  for (const item of [...items, session]) {
    const expires = item[TTL_ATTRIBUTE]
    t.type(expires, 'number', `${item.kind ?? 'session'}: a number (epoch seconds)`)
    t.ok(expires >= before + 7 * DAY && expires <= after + 7 * DAY, `${item.kind ?? 'session'}: 7 days from now`)
  }
})

const execFileAsync = promisify(execFile)
const tablesCli = (args: string[], env: Record<string, string>) =>
  execFileAsync(process.execPath, ['src/cli/tables.ts', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 })

t.test('npm run tables -- --create: the same definitions, with TTL', async (t) => {
  const env = tableEnv()
  const created = await tablesCli(['--create'], { DYNAMODB_ENDPOINT: proxy.url, ...env })
  t.match(created.stdout, new RegExp(`created\\s+${env.CONVERSATION_DYNAMO_TABLE_NAME}\\s+\\(TTL: enabling\\)`))
  t.match(created.stdout, new RegExp(`created\\s+${env.CONVERSATION_SESSION_TABLE_NAME}\\s+\\(TTL: enabling\\)`))
  t.match(created.stdout, new RegExp(`created\\s+${env.ANIMAL_DYNAMO_TABLE_NAME}\\s+\\(TTL: not used\\)`))
  t.match(created.stdout, new RegExp(`created\\s+${env.ANALYTICS_DYNAMO_TABLE_NAME}\\s+\\(TTL: enabling\\)`))
  const again = await tablesCli(['--create'], { DYNAMODB_ENDPOINT: proxy.url, ...env })
  t.match(again.stdout, new RegExp(`exists\\s+${env.CONVERSATION_DYNAMO_TABLE_NAME}\\s+\\(TTL: enabled\\)`), 'idempotent')

  const bare = await tablesCli(['--create'], { DYNAMODB_ENDPOINT: dynalite.endpoint, ...tableEnv() })
  t.match(bare.stdout, /conversations\s+\(TTL: unsupported\)/, 'bare dynalite says truthfully that it has no TTL')

  const printed = JSON.parse((await tablesCli(['--print'], env)).stdout)
  t.same(printed.filter((d: { ttlAttribute?: string }) => d.ttlAttribute).map((d: { input: { TableName: string } }) => d.input.TableName).sort(),
    ttlTables(env))
})

const scan = async (table: string) => (await raw.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []

t.test('sweepExpired deletes what RETENTION_DAYS has expired in every TTL table, nothing else', async (t) => {
  const env = tableEnv()
  const config = loadConfig({ DYNAMODB_ENDPOINT: dynalite.endpoint, RETENTION_DAYS: '7', ...env })
  const client = createDynamoClient({ endpoint: dynalite.endpoint })
  await ensureTables(client, config)
  const storage = new DynamoStorage({ client, tables: config.storage.tables, retentionDays: 7 })
  t.teardown(() => storage.close())
  const createdAt = new Date().toISOString()
  await storage.createSession({ sessionId: 's-old', userId: 'kid', animalId: 'lion', createdAt, updatedAt: createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 })
  const turn: Turn = {
    turnId: 't-old', sessionId: 's-old', userId: 'kid', animalId: 'lion', clientTurnId: 'c-old', userMessage: 'hi', reply: 'hello', status: 'complete', createdAt,
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 1, model: 'offline',
    safety: { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] },
  }
  await storage.claimClientTurn('kid', 'c-old', 't-old')
  await storage.saveTurn(turn)
  const tables = [env.CONVERSATION_DYNAMO_TABLE_NAME!, env.CONVERSATION_SESSION_TABLE_NAME!, env.SAFETY_DYNAMO_TABLE_NAME!]
  const count = async () => (await Promise.all(tables.map(scan))).map((items) => items.length)
  t.same(await count(), [3, 1, 2], 'turn, pointer, claim; the session; the event and the flagged marker')

  t.equal(await storage.sweepExpired(Date.now() + 6 * DAY * 1000), 0, 'six days on, nothing has expired')
  t.same(await count(), [3, 1, 2])
  t.equal(await storage.sweepExpired(Date.now() + 7 * DAY * 1000 + 60_000), 6, 'seven days on, everything has')
  t.same(await count(), [0, 0, 0])
  t.same(await storage.listSafetyEvents({ limit: 10 }), { items: [], nextCursor: null })
})

t.test('on the embedded store (no TTL) the app sweeps expired items every RETENTION_SWEEP_MS', async (t) => {
  const env = tableEnv()
  await startApp(t, { DYNAMODB_ENDPOINT: dynalite.endpoint, RETENTION_SWEEP_MS: '100', ...env })
  const past = Math.floor(Date.now() / 1000) - 60
  const future = Math.floor(Date.now() / 1000) + DAY
  const put = (TableName: string, Item: Record<string, unknown>) => raw.send(new PutCommand({ TableName, Item }))
  await put(env.CONVERSATION_DYNAMO_TABLE_NAME!, { pk: 'SESSION#gone', sk: 'TURN#x', kind: 'turn', [TTL_ATTRIBUTE]: past })
  await put(env.CONVERSATION_DYNAMO_TABLE_NAME!, { pk: 'SESSION#kept', sk: 'TURN#y', kind: 'turn', [TTL_ATTRIBUTE]: future })
  await put(env.CONVERSATION_SESSION_TABLE_NAME!, { sessionId: 'gone', userId: 'kid', animalId: 'lion', activityBucket: 'all', updatedAt: 'x', [TTL_ATTRIBUTE]: past })
  await put(env.SAFETY_DYNAMO_TABLE_NAME!, { pk: 'USER#kid', sk: 'EVENT#x', userId: 'kid', animalId: 'lion', bucket: 'high', order: 'EVENT#x', [TTL_ATTRIBUTE]: past })
  await eventually(async () => {
    const left = [...await scan(env.CONVERSATION_DYNAMO_TABLE_NAME!), ...await scan(env.CONVERSATION_SESSION_TABLE_NAME!), ...await scan(env.SAFETY_DYNAMO_TABLE_NAME!)]
    return left.length === 1 ? left : undefined
  }, 10_000).then((left) => t.same(left.map((item) => item.pk), ['SESSION#kept'], 'expired items are gone, the others stay'))
})

t.test('where TTL works, the app leaves expiry to DynamoDB and does not sweep', async (t) => {
  const env = tableEnv()
  await startApp(t, { DYNAMODB_ENDPOINT: proxy.url, RETENTION_SWEEP_MS: '100', ...env })
  await raw.send(new PutCommand({ TableName: env.CONVERSATION_DYNAMO_TABLE_NAME, Item: { pk: 'SESSION#old', sk: 'TURN#x', [TTL_ATTRIBUTE]: 1 } }))
  await sleep(500)
  t.equal((await scan(env.CONVERSATION_DYNAMO_TABLE_NAME!)).length, 1, 'five sweep intervals later the item is still there')
})
