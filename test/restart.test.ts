// The default set-up: no DynamoDB endpoint, no AWS config. The embedded dynalite keeps data
// under DATA_DIR, so a restart keeps the conversation.
import t from 'tap'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'

const dataDir = t.testdir()
const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1' }

async function boot() {
  const app = await buildApp(loadConfig(env))
  await app.ready()
  return app
}

t.test('data survives a restart of the embedded store', async (t) => {
  const first = await boot()
  const token = first.jwt.sign({ sub: 'alice', role: 'user' }, { expiresIn: 3600 })
  const turn = await first.inject({ method: 'POST', url: '/convo_turn', headers: { authorization: `Bearer ${token}` }, payload: { animalId: 'lion', message: 'Do you like naps?' } })
  t.equal(turn.statusCode, 200)
  const { sessionId, reply } = turn.json()
  await first.close()

  const second = await boot()
  t.teardown(() => second.close())
  const history = await second.inject({ url: `/convo_history?sessionId=${sessionId}`, headers: { authorization: `Bearer ${token}` } })
  t.equal(history.statusCode, 200, 'the generated dev secret was kept too, so the old token still works')
  t.match(history.json().turns, [{ userMessage: 'Do you like naps?', reply }])
})
