// How many DynamoDB requests a turn makes, counted on the wire (node:http's diagnostics channel
// sees every request the AWS SDK sends). Each one is a round trip and, on the embedded store,
// CPU in both processes: the counts are a budget, kept here so a change cannot add one unnoticed.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ClientRequest } from 'node:http'
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'

t.test('storage round trips per turn', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  const gw = await startApp(t, { OPENAI_API_KEY: 'test', OPENAI_BASE_URL: fake.url })
  const port = new URL(gw.dynamoEndpoint).port
  let operations: string[] = []
  const onRequest = ({ request }: { request: ClientRequest }) => {
    if (request.host === '127.0.0.1' && request.getHeader('host') === `127.0.0.1:${port}`) {
      operations.push(String(request.getHeader('x-amz-target')).replace('DynamoDB_20120810.', ''))
    }
  }
  subscribe('http.client.request.start', onRequest as (message: unknown) => void)
  t.teardown(() => unsubscribe('http.client.request.start', onRequest as (message: unknown) => void))
  const turn = async (body: object) => {
    operations = []
    const res = await fetch(`${gw.url}/convo_turn`, { method: 'POST', headers: { ...gw.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', ...body }) })
    t.equal(res.status, 200)
    return { ...(await res.json()) as { sessionId: string }, operations: operations.sort() }
  }
  const warm = await turn({ message: 'hello' }) // the first save learns that dynalite has no transactions
  const first = await turn({ message: 'hello' })
  const next = await turn({ message: 'and you?', sessionId: first.sessionId })
  t.comment(`warm-up: ${warm.operations.join(', ')}`)
  t.comment(`new session: ${first.operations.join(', ')}`)
  t.comment(`continuing: ${next.operations.join(', ')}`)
  // The animal is read from the cache, not the table (GetItem would be its read).
  t.notOk(first.operations.includes('GetItem'), 'a new-session turn reads nothing: the animal is cached')
  t.same(next.operations.filter((op) => op === 'GetItem'), ['GetItem'], 'a continuing turn reads its session only')
  t.same(next.operations.filter((op) => op === 'Query'), ['Query'], 'and its context in one query')
  // dynalite has no transactions: the turn, its pointer and the session (created with its first
  // turn, or its counters) are three writes; the animal's analytics day is one UpdateItem more
  // (docs/analytics.md), sent after the turn's end.
  t.ok(first.operations.length <= 4, `at most 4 requests for a new session (${first.operations.length})`)
  t.ok(next.operations.length <= 6, `at most 6 for a continuing turn (${next.operations.length})`)
})
