// Deleting a child's data purges the resume buffers on every instance: two app instances share
// Redis and one DynamoDB; a turn finished on A and a turn still running on A are deleted through
// B, and neither can then be replayed anywhere (the Redis keys are gone, A's memory forgot them).
import t from 'tap'
import { startTwoInstances } from './helpers/two-instances.ts'
import { json } from './helpers/http.ts'
import { readSse } from './helpers/sse.ts'
import { eventually, postSse, words } from './helpers/stream.ts'

const { a, b, fake, redis, prefix } = await startTwoInstances(t, { STREAM_BUFFER_TTL_MS: '60000' })
const turnKeys = (turnId: string) => redis.keys(`${prefix}turn:${turnId}*`)

t.test('a parent deleting through B: finished and running turns on A can no longer be replayed anywhere', async (t) => {
  if ((await fetch(`${b.url}/families/pam/children/kid`, { method: 'PUT', headers: b.auth('root', 'admin') })).status !== 200) throw new Error('link failed')
  const finished = await json(fetch(`${a.url}/convo_turn`, {
    method: 'POST', headers: { ...a.auth('kid'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'What do you eat?' }),
  }))
  t.ok((await turnKeys(finished.turnId)).length > 0, 'the finished turn is buffered in Redis')
  t.equal((await fetch(`${b.url}/convo_turn/${finished.turnId}/stream`, { headers: b.auth('kid') })).status, 200, 'and resumable on B')

  // A turn still being written on A while the parent deletes.
  fake.enqueue({ kind: 'stream', chunks: words(200), delayMs: 20 })
  const live = readSse(await postSse(a.url, a.auth('kid'), { animalId: 'penguin', message: 'Tell me a long story' }))
  const first = (await live.next()).value!
  const runningId = first.data.turnId as string
  for (let i = 0; i < 3; i++) await live.next()
  t.ok((await turnKeys(runningId)).length > 0, 'the running turn is mirrored to Redis')

  t.equal((await fetch(`${b.url}/convo_history?userId=kid`, { method: 'DELETE', headers: b.auth('pam', 'parent') })).status, 204)

  const rest = []
  for await (const event of live) rest.push(event)
  t.match(rest.at(-1), { event: 'error', data: { code: 'cancelled' } }, 'A aborted the running turn: the model stops writing the deleted conversation')
  t.ok(rest.length < 200, 'well before the reply was finished')

  for (const turnId of [finished.turnId, runningId]) {
    await eventually(async () => ((await turnKeys(turnId)).length === 0 ? true : undefined), 5000)
    t.pass(`no Redis key of turn ${turnId} is left`)
    for (const [name, app] of [['A', a], ['B', b]] as const) {
      const res = await fetch(`${app.url}/convo_turn/${turnId}/stream`, { headers: app.auth('kid') })
      t.equal(res.status, 404, `turn ${turnId} cannot be resumed on ${name}`)
    }
  }
  t.same(await json(fetch(`${a.url}/convo_history?userId=kid`, { headers: a.auth('root', 'admin') })), { sessions: [], nextCursor: null })
})
