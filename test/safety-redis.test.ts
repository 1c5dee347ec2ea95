// Text withdrawn by the safety layer leaves the Redis resume buffer too: after a `replace`, the
// turn's stream in Redis holds no trace of it, and a resume on another instance shows none.
import t from 'tap'
import { startTwoInstances } from './helpers/two-instances.ts'
import { collectSse } from './helpers/sse.ts'

const { a, b, fake, redis, prefix } = await startTwoInstances(t)

t.test('a replace on A: the Redis stream and a resume on B hold only the safe reply', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['My ', 'mane ', 'is ', 's ', 'h ', 'i ', 't ', 'today'] })
  const events = await collectSse(await fetch(`${a.url}/convo_turn`, {
    method: 'POST', headers: { ...a.auth('alice'), 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ animalId: 'lion', message: 'how is your mane?' }),
  }))
  t.ok(events.some((e) => e.event === 'replace'), 'replaced')
  t.ok(events.some((e) => e.event === 'message' && e.data.delta !== ''), 'text was shown live before the block')
  const turnId = events[0].data.turnId as string
  // The mirror is written asynchronously: wait for the final event to reach Redis.
  for (let i = 0; i < 50 && (await redis.xlen(`${prefix}turn:${turnId}`)) < events.length; i++) await new Promise((r) => setTimeout(r, 20))
  const entries = await redis.xrange(`${prefix}turn:${turnId}`, '-', '+')
  t.equal(entries.length, events.length, 'every event is mirrored, with the same ids')
  t.notMatch(entries.map(([, fields]) => fields[1]).join('\n'), /mane|"delta":"s /, 'no withdrawn text in Redis')

  const replay = await collectSse(await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: b.auth('alice') }))
  t.same(replay.map((e) => e.id), events.map((e) => e.id), 'the same events, by id')
  t.equal(replay.filter((e) => e.event === 'message').map((e) => e.data.delta).join(''), '')
  t.match(replay.find((e) => e.event === 'replace')!.data, { reply: /lost my train of thought/ })
})
