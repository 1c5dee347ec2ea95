// The AnalyticsStore contract, run against both adapters (DynamoDB over dynalite, and memory).
import { randomUUID } from 'node:crypto'
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import type { AnalyticsStore } from '../src/analytics/store.ts'
import { loadConfig } from '../src/config.ts'
import { DynamoAnalyticsStore } from '../src/storage/analytics-dynamo.ts'
import { MemoryAnalyticsStore } from '../src/storage/analytics-memory.ts'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { ensureTables, TTL_ATTRIBUTE } from '../src/storage/tables.ts'
import { startDynalite } from './helpers/dynalite.ts'

const dynalite = await startDynalite()
t.teardown(() => dynalite.close())
const client = createDynamoClient({ endpoint: dynalite.endpoint })
const doc = DynamoDBDocumentClient.from(client)
t.teardown(() => client.destroy())

async function dynamoStore(retentionDays = 400): Promise<{ store: DynamoAnalyticsStore; table: string }> {
  const table = `a${randomUUID().slice(0, 8)}-analytics`
  await ensureTables(client, loadConfig({ ANALYTICS_DYNAMO_TABLE_NAME: table, CONVERSATION_DYNAMO_TABLE_NAME: `${table}-c`, CONVERSATION_SESSION_TABLE_NAME: `${table}-s`, ANIMAL_DYNAMO_TABLE_NAME: `${table}-a`, FAMILY_DYNAMO_TABLE_NAME: `${table}-f` }))
  return { store: new DynamoAnalyticsStore({ doc, table, retentionDays }), table }
}

const adapters: Record<string, () => Promise<AnalyticsStore>> = {
  memory: async () => new MemoryAnalyticsStore(),
  dynamodb: async () => (await dynamoStore()).store,
}

for (const [name, fresh] of Object.entries(adapters)) {
  t.test(name, async (t) => {
    t.test('adds up counters and unions sketches per animal per day', async (t) => {
      const store = await fresh()
      await store.add('lion', '2030-03-01', { counters: { turns: 1, 'tokens.input': 100, 'question.can you fly?': 1 }, sketch: [5, 70] })
      await store.add('lion', '2030-03-01', { counters: { turns: 1, 'tokens.input': 20 }, sketch: [70, 200] })
      await store.add('lion', '2030-03-03', { counters: { turns: 2 }, sketch: [] })
      await store.add('penguin', '2030-03-01', { counters: { turns: 7 }, sketch: [1] })
      await store.add('lion', '2030-02-28', { counters: { turns: 9 }, sketch: [1] })

      const days = await store.days('lion', '2030-03-01', '2030-03-05')
      t.same(days.map((d) => d.day), ['2030-03-01', '2030-03-03'], 'only days with turns, inside the range, oldest first')
      t.same(days[0]!.counters, { turns: 2, 'tokens.input': 120, 'question.can you fly?': 1 })
      t.same([...days[0]!.sketch].sort((a, b) => a - b), [5, 70, 200], 'a set: the shared element once')
      t.same(days[1]!.counters, { turns: 2 })
      t.same(days[1]!.sketch, [])
      t.same((await store.days('penguin', '2030-03-01', '2030-03-01'))[0]!.counters, { turns: 7 }, 'animals apart')
      t.same(await store.days('giraffe', '2030-03-01', '2030-03-05'), [])
    })

    t.test('concurrent additions all count, each once', async (t) => {
      const store = await fresh()
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.add('lion', '2030-03-01', { counters: { turns: 1, [`reply.${i % 2 ? 'complete' : 'failed'}`]: 1 }, sketch: [i] })))
      const [day] = await store.days('lion', '2030-03-01', '2030-03-01')
      t.same(day!.counters, { turns: 40, 'reply.complete': 20, 'reply.failed': 20 })
      t.equal(day!.sketch.length, 40)
    })
  })
}

t.test('dynamodb: one item per animal per day, expiring ANALYTICS_RETENTION_DAYS after that day', async (t) => {
  const { store, table } = await dynamoStore(30)
  await store.add('lion', '2030-03-01', { counters: { turns: 1 }, sketch: [3] })
  const item = (await doc.send(new GetCommand({ TableName: table, Key: { animalId: 'lion', day: '2030-03-01' }, ConsistentRead: true }))).Item!
  t.equal(item[TTL_ATTRIBUTE], Date.parse('2030-03-01T00:00:00Z') / 1000 + 31 * 86_400, 'the end of the day + 30 days')
  t.same([...item.visitorSketch], [3], 'the sketch is a number set')
})
