// DynamoDB-specific behaviour, over the wire to dynalite: table definitions, TTL attributes,
// what a cascade delete leaves in the table, and outage/recovery of the same storage object.
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, type Config } from '../src/config.ts'
import { AppError, StorageUnavailableError } from '../src/core/errors.ts'
import type { Session, Turn } from '../src/core/types.ts'
import { CALL_DEADLINE_MS, createDynamoClient, isUnavailable } from '../src/storage/dynamo-client.ts'
import { DynamoStorage } from '../src/storage/dynamo.ts'
import { ensureTables, SAFETY_INDEXES, SESSION_INDEXES, TTL_ATTRIBUTE } from '../src/storage/tables.ts'
import { startDynalite, type TestDynalite } from './helpers/dynalite.ts'

const DAY = 86_400

function configFor(endpoint: string): Config {
  const prefix = `t${randomUUID().slice(0, 8)}`
  return loadConfig({
    DYNAMODB_ENDPOINT: endpoint,
    RETENTION_DAYS: '30',
    CONVERSATION_DYNAMO_TABLE_NAME: `${prefix}-conversations`,
    CONVERSATION_SESSION_TABLE_NAME: `${prefix}-sessions`,
    ANIMAL_DYNAMO_TABLE_NAME: `${prefix}-animals`,
    FAMILY_DYNAMO_TABLE_NAME: `${prefix}-families`,
    SAFETY_DYNAMO_TABLE_NAME: `${prefix}-safety`,
  })
}

async function setUp(dynalite: TestDynalite) {
  const config = configFor(dynalite.endpoint)
  const client = createDynamoClient({ endpoint: dynalite.endpoint })
  const reports = await ensureTables(client, config)
  const storage = new DynamoStorage({ client: createDynamoClient({ endpoint: dynalite.endpoint }), tables: config.storage.tables, retentionDays: 30 })
  return { config, client, reports, storage, doc: DynamoDBDocumentClient.from(client) }
}

async function scanAll(doc: DynamoDBDocumentClient, table: string) {
  return (await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []
}

function session(): Session {
  const now = new Date().toISOString()
  return { sessionId: randomUUID(), userId: 'alice', animalId: 'lion', createdAt: now, updatedAt: now, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 }
}

let tick = 0
function turn(s: Session, clientTurnId?: string): Turn {
  return {
    turnId: randomUUID(), sessionId: s.sessionId, userId: s.userId, animalId: s.animalId, clientTurnId,
    userMessage: 'hi', reply: 'roar', status: 'complete', createdAt: new Date(Date.now() + ++tick).toISOString(),
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 5, model: 'm',
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err)
}

const dynalite = await startDynalite()
t.teardown(() => dynalite.close())

t.test('ensureTables creates keys, indexes and on-demand billing, and is idempotent', async (t) => {
  const { config, client, reports, storage } = await setUp(dynalite)
  t.teardown(() => { client.destroy(); return storage.close() })
  const { tables } = config.storage
  t.same(reports.map((r) => r.created), [true, true, true, true, true, true])

  const sessions = (await client.send(new DescribeTableCommand({ TableName: tables.sessions }))).Table!
  t.same(sessions.KeySchema, [{ AttributeName: 'sessionId', KeyType: 'HASH' }])
  t.same(sessions.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST')
  const indexes = Object.fromEntries((sessions.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i.KeySchema?.map((k) => k.AttributeName)]))
  t.same(indexes, {
    [SESSION_INDEXES.byUser]: ['userId', 'updatedAt'],
    [SESSION_INDEXES.byAnimal]: ['animalId', 'updatedAt'],
    [SESSION_INDEXES.byActivity]: ['activityBucket', 'updatedAt'],
  })
  const turns = (await client.send(new DescribeTableCommand({ TableName: tables.conversations }))).Table!
  t.same(turns.KeySchema?.map((k) => k.AttributeName), ['pk', 'sk'])
  const families = (await client.send(new DescribeTableCommand({ TableName: tables.families }))).Table!
  t.same(families.KeySchema?.map((k) => k.AttributeName), ['parentId', 'childId'])
  const safety = (await client.send(new DescribeTableCommand({ TableName: tables.safety }))).Table!
  t.same(safety.KeySchema?.map((k) => k.AttributeName), ['pk', 'sk'])
  t.same(Object.fromEntries((safety.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i.KeySchema?.map((k) => k.AttributeName)])), {
    [SAFETY_INDEXES.byUser]: ['userId', 'order'],
    [SAFETY_INDEXES.byAnimal]: ['animalId', 'order'],
    [SAFETY_INDEXES.byBucket]: ['bucket', 'order'],
  })

  // dynalite has DescribeTimeToLive (always DISABLED) but no UpdateTimeToLive.
  t.same(reports.map((r) => r.ttl), ['unsupported', 'unsupported', 'not used', 'unsupported', 'not used', 'unsupported'])
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tables.conversations }))
  t.equal(ttl.TimeToLiveDescription?.TimeToLiveStatus, 'DISABLED')

  const again = await ensureTables(client, config)
  t.same(again.map((r) => r.created), [false, false, false, false, false, false], 'existing tables are kept')
})

t.test('ensureTables stops on an existing table with another key schema', async (t) => {
  const config = configFor(dynalite.endpoint)
  const client = createDynamoClient({ endpoint: dynalite.endpoint })
  t.teardown(() => client.destroy())
  await client.send(new CreateTableCommand({
    TableName: config.storage.tables.conversations,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
  }))
  await t.rejects(ensureTables(client, config), { message: new RegExp(`${config.storage.tables.conversations} exists but does not match.*key schema is sessionId:HASH`) })
})

t.test('every turn, pointer, claim and session carries a TTL of RETENTION_DAYS, refreshed by activity', async (t) => {
  const { config, client, storage, doc } = await setUp(dynalite)
  t.teardown(() => { client.destroy(); return storage.close() })
  const { tables } = config.storage
  const before = Math.floor(Date.now() / 1000)
  const s = session()
  await storage.createSession(s)
  const first = turn(s, 'c-1')
  await storage.claimClientTurn('alice', 'c-1', first.turnId)
  await storage.saveTurn(first)
  const after = Math.ceil(Date.now() / 1000)

  const items = [...await scanAll(doc, tables.conversations), ...await scanAll(doc, tables.sessions)]
  t.same(items.map((i) => i.kind ?? 'session').sort(), ['clientTurn', 'session', 'turn', 'turnPointer'])
  for (const item of items) {
    const expires = item[TTL_ATTRIBUTE] as number
    t.ok(expires >= before + 30 * DAY && expires <= after + 30 * DAY, `${item.kind ?? 'session'} expires in 30 days`)
  }

  await doc.send(new UpdateCommand({ TableName: tables.sessions, Key: { sessionId: s.sessionId }, UpdateExpression: 'SET expiresAt = :old', ExpressionAttributeValues: { ':old': before } }))
  await storage.saveTurn(turn(s))
  const refreshed = (await scanAll(doc, tables.sessions))[0]!
  t.ok((refreshed[TTL_ATTRIBUTE] as number) >= before + 30 * DAY, 'a new turn pushes the session expiry out again')
})

t.test('deleteSession of 60 turns leaves no item of that session in the table', async (t) => {
  const { config, client, storage, doc } = await setUp(dynalite)
  t.teardown(() => { client.destroy(); return storage.close() })
  const doomed = session()
  const kept = session()
  await storage.createSession(doomed)
  await storage.createSession(kept)
  for (let i = 0; i < 60; i++) {
    const next = turn(doomed, `ct-${i}`)
    await storage.claimClientTurn('alice', `ct-${i}`, next.turnId)
    await storage.saveTurn(next)
  }
  const keptTurn = turn(kept)
  await storage.saveTurn(keptTurn)
  t.equal((await scanAll(doc, config.storage.tables.conversations)).length, 60 * 3 + 2, 'turn + pointer + claim each')

  t.equal((await storage.deleteSession(doomed.sessionId)).existed, true)
  const left = await scanAll(doc, config.storage.tables.conversations)
  t.same(left.map((item) => item.turnId).sort(), [keptTurn.turnId, keptTurn.turnId], 'only the other session\'s turn and pointer')
  t.same((await scanAll(doc, config.storage.tables.sessions)).map((item) => item.sessionId), [kept.sessionId])
})

t.test('outage: calls fail fast with StorageUnavailableError, then recover on the same object', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'storage-outage-'))
  const server = await startDynalite({ path: dir })
  t.teardown(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })
  const { client, storage } = await setUp(server)
  t.teardown(() => { client.destroy(); return storage.close() })
  const s = session()
  await storage.createSession(s)
  await storage.ping()

  await server.stop()
  for (const [label, attempt] of [
    ['getSession', () => storage.getSession(s.sessionId)],
    ['saveTurn', () => storage.saveTurn(turn(s))],
    ['listTurns', () => storage.listTurns(s.sessionId, { limit: 5 })],
    ['ping', () => storage.ping()],
  ] as const) {
    const started = performance.now()
    const err = await failure(attempt())
    t.ok(err instanceof StorageUnavailableError, `${label}: StorageUnavailableError`)
    t.match(err, { statusCode: 503, retryable: true })
    t.ok(performance.now() - started < CALL_DEADLINE_MS * 2, `${label}: answered within the call deadline`)
  }

  await server.restart()
  await storage.ping()
  t.equal((await storage.getSession(s.sessionId))?.userId, 'alice', 'data on disk is back')
  await storage.saveTurn(turn(s))
  t.equal((await storage.getSession(s.sessionId))?.messageCount, 2, 'writes work again')
})

t.test('a server that accepts but never answers times out into StorageUnavailableError', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => sockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => silent.close(() => resolve()))
  })
  const { port } = silent.address() as { port: number }
  const storage = new DynamoStorage({ client: createDynamoClient({ endpoint: `http://127.0.0.1:${port}` }), tables: configFor('http://x').storage.tables, retentionDays: 1 })
  t.teardown(() => storage.close())
  const started = performance.now()
  const err = await failure(storage.getSession('s'))
  t.ok(err instanceof StorageUnavailableError)
  t.ok(performance.now() - started < CALL_DEADLINE_MS * 2, 'bounded by the call deadline')
})

t.test('which failures mean "storage unavailable"', async (t) => {
  const serviceError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })
  t.ok(isUnavailable(serviceError('ProvisionedThroughputExceededException', 400)), 'throttled after retries')
  t.ok(isUnavailable(serviceError('ThrottlingException', 400)))
  t.ok(isUnavailable(serviceError('ResourceNotFoundException', 400)), 'table gone while the store restarts')
  t.ok(isUnavailable(serviceError('InternalServerError', 500)))
  t.ok(isUnavailable(serviceError('SomethingNew', 503)), 'any 5xx')
  t.ok(isUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })))
  t.notOk(isUnavailable(serviceError('ValidationException', 400)), 'a bad request is a bug, not an outage')
  t.notOk(isUnavailable(serviceError('ConditionalCheckFailedException', 400)))
  t.notOk(isUnavailable(new TypeError('x is undefined')))
})

t.test('a request DynamoDB refuses as invalid (ValidationException) is a 400, not a 500', async (t) => {
  const { storage } = await setUp(dynalite)
  const err = await failure(storage.getSession('')) // an empty key attribute: DynamoDB refuses it
  t.ok(err instanceof AppError, 'an AppError, answered by the error handler as it is')
  t.match(err, { statusCode: 400, code: 'bad_request', message: /refused by storage as invalid/, retryable: false })
  t.match((err as Error).cause, { name: 'ValidationException' }, 'the cause is kept for the logs')
  await storage.close()
})

t.test('animals are cached per instance: its own edits at once, another instance\'s within the cache TTL', async (t) => {
  const { config, client } = await setUp(dynalite)
  t.teardown(() => client.destroy())
  const open = () => new DynamoStorage({ client: createDynamoClient({ endpoint: dynalite.endpoint }), tables: config.storage.tables, retentionDays: 30, animalCacheTtlMs: 300 })
  const here = open()
  const there = open()
  t.teardown(() => here.close())
  t.teardown(() => there.close())
  const lion = { animalId: 'lion', name: 'Leo', species: 'lion', personality: 'proud', facts: ['Lions sleep a lot.'] }
  await here.seedAnimals([lion])
  const first = await here.getAnimal('lion')
  t.equal(await here.getAnimal('lion'), first, 'the second read is the same frozen object (no round trip)')
  t.ok(Object.isFrozen(first?.facts))

  await here.putAnimal({ ...lion, personality: 'sleepy' })
  t.equal((await here.getAnimal('lion'))?.personality, 'sleepy', 'an edit through this instance is seen at once')

  await there.getAnimal('lion')
  await here.putAnimal({ ...lion, personality: 'grumpy' })
  t.equal((await there.getAnimal('lion'))?.personality, 'sleepy', 'another instance may serve the old version briefly')
  await new Promise((resolve) => setTimeout(resolve, 350))
  t.equal((await there.getAnimal('lion'))?.personality, 'grumpy', '...until the TTL passes')
  t.equal(await there.getAnimal('zebra'), undefined)
})
