// Retention: every stored item carries the TTL attribute (RETENTION_DAYS), and TTL is enabled on
// the tables the app (or `npm run tables -- --create`) creates. dynalite has no TTL API, so the
// "enabled" half runs through a proxy that adds it; against bare dynalite the truth is "unsupported".
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { TTL_ATTRIBUTE } from '../src/storage/tables.ts'
import { startApp } from './helpers/app.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { json } from './helpers/http.ts'
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
    ANALYTICS_DYNAMO_TABLE_NAME: `${prefix}-analytics`,
  }
}

t.test('the app enables TTL on the conversations, sessions and analytics tables it creates', async (t) => {
  const env = tableEnv()
  await startApp(t, { DYNAMODB_ENDPOINT: proxy.url, ...env })
  const asked = proxy.updates.filter((u) => Object.values(env).includes(u.TableName))
  t.same(asked.map((u) => u.TableName).sort(), [env.CONVERSATION_DYNAMO_TABLE_NAME, env.CONVERSATION_SESSION_TABLE_NAME, env.ANALYTICS_DYNAMO_TABLE_NAME].sort())
  for (const update of asked) t.same(update.TimeToLiveSpecification, { AttributeName: TTL_ATTRIBUTE, Enabled: true })

  await startApp(t, { DYNAMODB_ENDPOINT: proxy.url, ...env })
  t.equal(proxy.updates.filter((u) => Object.values(env).includes(u.TableName)).length, 3, 'a second start finds TTL enabled and leaves it')
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
  t.same(printed.filter((d: { ttlAttribute?: string }) => d.ttlAttribute).map((d: { input: { TableName: string } }) => d.input.TableName),
    [env.CONVERSATION_DYNAMO_TABLE_NAME, env.CONVERSATION_SESSION_TABLE_NAME, env.ANALYTICS_DYNAMO_TABLE_NAME])
})
