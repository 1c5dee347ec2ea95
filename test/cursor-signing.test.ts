// Pagination cursors over HTTP, on dynalite: signed with a key derived from the deployment's own
// secret, so a cursor minted with a key from the source (or any other) is 400 `cursor is
// invalid`, and so is a correctly signed one pointing into another partition (never a 500
// from DynamoDB). Cursors survive a restart with the same secret.
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.ts'
import { CURSOR_SECRET_FILE, resolveCursorKey } from '../src/dev-secret.ts'
import { CursorCodec } from '../src/storage/cursor.ts'
import { startApp } from './helpers/app.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { json } from './helpers/http.ts'

const dynalite = await startDynalite()
t.teardown(() => dynalite.close())

/** Signs a cursor payload the way the gateway's source used to, with its constant key. */
function signedWithTheOldConstant(payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
  return `${body}.${createHmac('sha256', 'animal-chat-gateway/cursor/v1').update(body).digest('base64url').slice(0, 22)}`
}

async function sessionWithTurns(url: string, auth: { authorization: string }, turns: number): Promise<string> {
  let sessionId: string | undefined
  for (let i = 0; i < turns; i++) {
    const res = await json(fetch(`${url}/convo_turn`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ animalId: 'lion', message: `question ${i}`, ...(sessionId ? { sessionId } : {}) }),
    }))
    sessionId = res.sessionId
  }
  return sessionId!
}

t.test('forged and foreign cursors are 400 cursor is invalid, never 500', async (t) => {
  const secret = 'a-cursor-secret-of-at-least-32-characters!'
  const dataDir = t.testdir()
  const { url, auth } = await startApp(t, { DYNAMODB_ENDPOINT: dynalite.endpoint, CURSOR_SECRET: secret, DATA_DIR: dataDir })
  const admin = auth('root', 'admin')
  const mine = await sessionWithTurns(url, auth('alice'), 3)
  const other = await sessionWithTurns(url, auth('bob'), 2)

  const page = await json(fetch(`${url}/convo_history?sessionId=${mine}&limit=1`, { headers: admin }))
  t.type(page.nextCursor, 'string')
  const next = await fetch(`${url}/convo_history?sessionId=${mine}&limit=1&cursor=${page.nextCursor}`, { headers: admin })
  t.equal(next.status, 200, 'a real cursor works')

  // The server's own key, from the same configuration: everything about the cursor is right
  // except the partition its position lies in.
  const codec = new CursorCodec(await resolveCursorKey(loadConfig({ CURSOR_SECRET: secret })))
  const otherTurn = (await json(fetch(`${url}/convo_history?sessionId=${other}`, { headers: admin }))).turns[0]
  const crossPartition = codec.encode(`turns:${mine}`, { pk: `SESSION#${other}`, sk: `TURN#${otherTurn.createdAt}#${otherTurn.turnId}` })
  const oldScheme = signedWithTheOldConstant({ v: 1, s: `turns:${mine}`, k: { pk: `SESSION#${other}`, sk: 'TURN#x' } })

  for (const [label, cursor] of [
    ['signed with the constant key the source used to carry', oldScheme],
    ['correctly signed, but pointing into another session\'s partition', crossPartition],
    ['signed with another secret', new CursorCodec(Buffer.alloc(32)).encode(`turns:${mine}`, { pk: `SESSION#${mine}`, sk: 'TURN#x' })],
  ]) {
    const res = await fetch(`${url}/convo_history?sessionId=${mine}&limit=1&cursor=${encodeURIComponent(cursor!)}`, { headers: admin })
    t.equal(res.status, 400, label)
    t.same(await res.json(), { error: 'bad_request', message: 'cursor is invalid', retryable: false }, `${label}: the message`)
  }
})

t.test('without CURSOR_SECRET or JWT_SECRET the key is generated under DATA_DIR and survives a restart', async (t) => {
  // Not t.testdir(): startApp calls it too, and each call empties it.
  const dataDir = mkdtempSync(join(tmpdir(), 'cursor-secret-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env = { DYNAMODB_ENDPOINT: dynalite.endpoint, JWT_SECRET: '', DATA_DIR: dataDir }
  const first = await startApp(t, env)
  const alice = first.auth('carol')
  await sessionWithTurns(first.url, alice, 1)
  await sessionWithTurns(first.url, alice, 1)
  const page = await json(fetch(`${first.url}/convo_history?limit=1`, { headers: alice }))
  t.type(page.nextCursor, 'string')
  t.match(readFileSync(join(dataDir, CURSOR_SECRET_FILE), 'utf8'), /^[A-Za-z0-9_-]{64}\n$/, 'the generated secret is kept')
  await first.app.close()

  const second = await startApp(t, env)
  const res = await fetch(`${second.url}/convo_history?limit=1&cursor=${page.nextCursor}`, { headers: second.auth('carol') })
  t.equal(res.status, 200, 'the cursor from before the restart still works')
  t.equal((await json(res)).sessions.length, 1)
})
