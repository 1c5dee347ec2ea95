// A first turn that fails before anything is stored leaves no session behind (a session is
// stored with its first turn), and its same-key retry goes on in the session the failed attempt
// announced instead of starting another: on memory storage, on dynalite (writes one after
// another) and on moto (TransactWriteItems, the AWS path).
import t from 'tap'
import { StorageUnavailableError } from '../src/core/errors.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { startMoto } from './helpers/moto.ts'
import { collectSse } from './helpers/sse.ts'
import { postSse } from './helpers/stream.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())

/** Makes the app's next `count` saves fail as an outage would. */
function failSaves(gw: TestApp, count: number): void {
  const { storage } = gw.app
  const save = storage.saveTurn
  let left = count
  storage.saveTurn = async (...args) => {
    if (left-- > 0) throw new StorageUnavailableError()
    return save.apply(storage, args)
  }
}

const sessionsOf = async (gw: TestApp, sub: string) => (await json(fetch(`${gw.url}/convo_history`, { headers: gw.auth(sub) }))).sessions

function suite(name: string, env: () => Promise<Record<string, string>>): void {
  t.test(name, async (t) => {
    const gw = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_FALLBACK: 'none', OPENAI_MAX_RETRIES: '0', ...(await env()) })
    const turn = (sub: string, body: object) => fetch(`${gw.url}/convo_turn`, {
      method: 'POST', headers: { ...gw.auth(sub), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Hello', ...body }),
    })

    t.test('the reply could not be stored (storage_failed): no session; the retry continues the announced one', async (t) => {
      failSaves(gw, 1)
      fake.enqueue({ kind: 'stream', chunks: ['Roar!'] })
      const events = await collectSse(await postSse(gw.url, gw.auth('kid-a'), { animalId: 'lion', message: 'Hello', clientTurnId: 'a-1' }))
      t.match(events.at(-1), { event: 'error', data: { code: 'storage_failed' } })
      const announced = events[0].data.sessionId as string
      t.same(await sessionsOf(gw, 'kid-a'), [], 'the child\'s list holds no empty session')
      t.equal((await fetch(`${gw.url}/convo_history?sessionId=${announced}`, { headers: gw.auth('kid-a') })).status, 404)

      fake.enqueue({ kind: 'stream', chunks: ['Roar again!'] })
      const retry = await turn('kid-a', { clientTurnId: 'a-1', sessionId: announced })
      t.equal(retry.status, 200, 'a same-key retry may name the session its first attempt announced')
      t.equal((await json(retry)).sessionId, announced)
      t.match(await sessionsOf(gw, 'kid-a'), [{ sessionId: announced, messageCount: 2 }], 'one session, with the retried turn')
    })

    t.test('the model failed and storing the failure failed too: no session; a retry without sessionId reuses it', async (t) => {
      failSaves(gw, 1)
      fake.enqueue({ kind: 'status', status: 500 })
      const events = await collectSse(await postSse(gw.url, gw.auth('kid-b'), { animalId: 'lion', message: 'Hello', clientTurnId: 'b-1' }))
      t.match(events.at(-1), { event: 'error', data: { code: 'upstream_failed' } })
      const announced = events[0].data.sessionId as string
      t.same(await sessionsOf(gw, 'kid-b'), [])

      fake.enqueue({ kind: 'stream', chunks: ['Here I am.'] })
      const retry = await json(turn('kid-b', { clientTurnId: 'b-1' }))
      t.equal(retry.sessionId, announced, 'the same session, not yet another')
      t.match(await sessionsOf(gw, 'kid-b'), [{ sessionId: announced, messageCount: 2 }])
    })

    t.test('a session that was never stored is unknown to anything but that retry', async (t) => {
      failSaves(gw, 1)
      fake.enqueue({ kind: 'stream', chunks: ['Roar!'] })
      const events = await collectSse(await postSse(gw.url, gw.auth('kid-c'), { animalId: 'lion', message: 'Hello', clientTurnId: 'c-1' }))
      const announced = events[0].data.sessionId as string
      t.equal((await turn('kid-c', { sessionId: announced })).status, 404, 'no key: 404, as for any unknown session')
      t.equal((await turn('kid-c', { sessionId: announced, clientTurnId: 'c-2' })).status, 404, 'another key: 404')
      t.equal((await turn('kid-d', { sessionId: announced, clientTurnId: 'c-1' })).status, 404, 'another user with that key: 404')
      t.same(await sessionsOf(gw, 'kid-c'), [])
    })
  })
}

suite('memory storage', async () => ({ STORAGE: 'memory' }))
suite('dynalite', async () => ({}))
suite('moto', async () => ({ DYNAMODB_ENDPOINT: (await startMoto(t)).endpoint }))
