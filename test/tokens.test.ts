// Token hardening: pinned algorithms, forged and malformed tokens, issuer/audience, clock
// tolerance, query tokens only where a header cannot be sent, and no token in the logs.
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { loadConfig } from '../src/config.ts'
import { startApp, TEST_JWT_SECRET } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { TestSocket } from './helpers/ws.ts'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', role: 'user', iat: now(), exp: now() + 600, ...extra })

/** A token with any header, signed with HMAC-SHA256 over `key` (or unsigned for alg none). */
function handMade(header: Record<string, unknown>, payload: Record<string, unknown>, hmacKey?: string): string {
  const body = `${b64(header)}.${b64(payload)}`
  const signature = hmacKey === undefined ? '' : createHmac('sha256', hmacKey).update(body).digest('base64url')
  return `${body}.${signature}`
}

const hs256 = (payload: Record<string, unknown>, secret = TEST_JWT_SECRET) => handMade({ alg: 'HS256', typ: 'JWT' }, payload, secret)

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const rs256 = (payload: Record<string, unknown>) => createSigner({ key: rsa.privateKey, algorithm: 'RS256' })(payload)
const es256 = (payload: Record<string, unknown>, key = ec.privateKey) => createSigner({ key, algorithm: 'ES256' })(payload)

async function statusWith(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/animals`, { headers: { authorization: `Bearer ${token}` } })).status
}

t.test('HS256 deployment: the forged-token list is 401, a good token is 200', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory' })
  t.equal(await statusWith(url, hs256(claims())), 200, 'a valid HS256 token')
  const rejected: Record<string, string> = {
    'alg none': handMade({ alg: 'none', typ: 'JWT' }, claims()),
    'alg none with a signature': handMade({ alg: 'none', typ: 'JWT' }, claims(), TEST_JWT_SECRET),
    'HS512 with the right secret (algorithm not pinned)': createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS512' })(claims()),
    'wrong secret': hs256(claims(), 'another-secret-that-is-at-least-32-characters'),
    'tampered payload': `${hs256(claims()).split('.')[0]}.${b64(claims({ role: 'admin' }))}.${hs256(claims()).split('.')[2]}`,
    'RS256 (the deployment uses a secret)': rs256(claims()),
    'expired beyond the clock tolerance': hs256(claims({ exp: now() - 120 })),
    'not yet valid (nbf)': hs256(claims({ nbf: now() + 600 })),
    'no sub': hs256(claims({ sub: undefined })),
    'empty sub': hs256(claims({ sub: '' })),
    'unknown role': hs256(claims({ role: 'superuser' })),
    'no role': hs256(claims({ role: undefined })),
    'not a JWT': 'garbage',
  }
  for (const [name, token] of Object.entries(rejected)) {
    const res = await fetch(`${url}/animals`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.status, 401, name)
    t.match(await json(res), { error: 'unauthorized', message: String }, `${name}: JSON error`)
  }
  const reason = async (token: string) => (await json(await fetch(`${url}/animals`, { headers: { authorization: `Bearer ${token}` } }))).message
  t.equal(await reason(rejected['expired beyond the clock tolerance']), 'The token has expired: get a new one', 'the reason is named, in the service\'s words')
  t.equal(await reason(rejected['wrong secret']), 'The token\'s signature does not verify')
  t.equal(await reason(rejected['HS512 with the right secret (algorithm not pinned)']), 'The token must be signed with HS256')
  t.equal(await reason(rejected['not a JWT']), 'The token is not a valid JWT: send Authorization: Bearer <JWT>')
  t.equal(await statusWith(url, hs256(claims({ exp: now() - 5 }))), 200, 'expired 5 s ago is within the 30 s clock tolerance')
  t.equal((await fetch(`${url}/animals`, { headers: { authorization: `Basic ${hs256(claims())}` } })).status, 401, 'only Bearer')
})

t.test('tokens must expire, within JWT_MAX_TTL_SECONDS, issued in the past, for a named user', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', JWT_MAX_TTL_SECONDS: '3600' })
  const reason = async (token: string) => {
    const res = await fetch(`${url}/animals`, { headers: { authorization: `Bearer ${token}` } })
    return `${res.status} ${(await json(res)).message}`
  }
  t.equal(await reason(hs256(claims({ exp: undefined }))), '401 The token has no exp claim: tokens must expire')
  t.equal(await reason(hs256(claims({ exp: undefined, iat: undefined }))), '401 The token has no exp claim: tokens must expire')
  t.equal(await reason(hs256(claims({ exp: now() + 7200 }))), '401 The token lives longer than 3600 seconds (JWT_MAX_TTL_SECONDS): issue a shorter-lived one', 'exp too far ahead')
  t.equal(await reason(hs256(claims({ iat: now() - 3000, exp: now() + 3000 }))), '401 The token lives longer than 3600 seconds (JWT_MAX_TTL_SECONDS): issue a shorter-lived one', 'exp - iat too long, though little is left')
  t.equal(await reason(hs256(claims({ iat: now() + 600 }))), '401 The token was issued in the future (iat): check the identity provider\'s clock')
  t.match(await reason(hs256(claims({ iat: now() + 10 }))), /^200/, 'iat within the clock tolerance')
  t.equal(await reason(hs256(claims({ sub: '   ' }))), '401 The token has no sub claim (the user id)', 'a blank sub')
  t.equal(await reason(hs256(claims({ sub: 42 }))), '401 The token has no sub claim (the user id)', 'a number is not a user id')
  t.match(await reason(hs256(claims({ iat: undefined, exp: now() + 3500 }))), /^200/, 'no iat, exp within the limit')
  t.match(await reason(hs256(claims({ exp: now() + 3600 }))), /^200/, 'exactly the longest lifetime')
})

t.test('verified tokens are cached, but a cached token is still rejected once it expires', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const shortLived = hs256(claims({ exp: now() + 2 }))
  t.equal(await statusWith(url, shortLived), 200, 'valid: verified and cached')
  t.equal(await statusWith(url, shortLived), 200, 'valid: from the cache')
  await new Promise((resolve) => setTimeout(resolve, 3100))
  t.equal(await statusWith(url, shortLived), 401, 'expired: rejected although it was cached')
  const other = hs256(claims({ exp: now() + 600 }))
  t.equal(await statusWith(url, other), 200, 'another valid token')
  const at = other.lastIndexOf('.') + 5 // a signature character that carries no padding bits
  const tampered = `${other.slice(0, at)}${other[at] === 'A' ? 'B' : 'A'}${other.slice(at + 1)}`
  t.equal(await statusWith(url, tampered), 401, 'the same token with a tampered signature is not served from the cache')
})

t.test('RS256 with JWT_PUBLIC_KEY: pinned to RS256, algorithm confusion is 401', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', JWT_SECRET: '', JWT_PUBLIC_KEY: rsa.publicKey })
  t.equal(await statusWith(url, rs256(claims())), 200, 'a valid RS256 token')
  t.equal(await statusWith(url, hs256(claims(), rsa.publicKey)), 401, 'HS256 signed with the public key as secret')
  t.equal(await statusWith(url, handMade({ alg: 'none' }, claims())), 401, 'alg none')
  t.equal(await statusWith(url, es256(claims())), 401, 'ES256 token')
  t.equal(await statusWith(url, rs256(claims({ exp: now() - 120 }))), 401, 'expired RS256')
  t.equal(await statusWith(url, rs256(claims({ role: 'root' }))), 401, 'unknown role')
})

t.test('ES256 with JWT_PUBLIC_KEY (newlines written as \\n): pinned to ES256', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', JWT_SECRET: '', JWT_PUBLIC_KEY: ec.publicKey.replaceAll('\n', '\\n') })
  t.equal(await statusWith(url, es256(claims())), 200, 'a valid ES256 token')
  t.equal(await statusWith(url, es256(claims(), otherEc.privateKey)), 401, 'signed by another key')
  t.equal(await statusWith(url, hs256(claims(), ec.publicKey)), 401, 'HS256 signed with the public key as secret')
  t.equal(await statusWith(url, rs256(claims())), 401, 'RS256 token')
  t.equal(await statusWith(url, es256(claims({ sub: undefined }))), 401, 'no sub')
})

t.test('a bad JWT_PUBLIC_KEY stops start-up naming the variable', async (t) => {
  t.throws(() => loadConfig({ JWT_PUBLIC_KEY: 'not a key' }), /JWT_PUBLIC_KEY: is not a PEM public key/)
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  t.throws(() => loadConfig({ JWT_PUBLIC_KEY: p384.publicKey }), /JWT_PUBLIC_KEY: must be an RSA or P-256 EC public key/)
  t.throws(() => loadConfig({ JWT_SECRET: 'too-short' }), /JWT_SECRET/)
})

t.test('JWT_ISSUER and JWT_AUDIENCE are checked when set', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', JWT_ISSUER: 'https://id.zoo.example', JWT_AUDIENCE: 'animal-chat' })
  const good = { iss: 'https://id.zoo.example', aud: 'animal-chat' }
  t.equal(await statusWith(url, hs256(claims(good))), 200, 'right issuer and audience')
  t.equal(await statusWith(url, hs256(claims({ ...good, iss: 'https://evil.example' }))), 401, 'wrong issuer')
  t.equal(await statusWith(url, hs256(claims({ ...good, aud: 'another-app' }))), 401, 'wrong audience')
  t.equal(await statusWith(url, hs256(claims({ aud: 'animal-chat' }))), 401, 'no issuer')
  t.equal(await statusWith(url, hs256(claims({ iss: 'https://id.zoo.example' }))), 401, 'no audience')
})

t.test('?access_token= works only on stream routes and /ws, and never reaches the logs', async (t) => {
  const logs = new PassThrough()
  let logged = ''
  logs.on('data', (chunk) => { logged += chunk })
  const { url, wsUrl, token, auth } = await startApp(t, { STORAGE: 'memory', LOG_LEVEL: 'info' }, { logStream: logs })
  const secret = token('alice')

  const refused = await fetch(`${url}/animals?access_token=${secret}`)
  t.equal(refused.status, 401, 'not on a plain REST route')
  t.equal((await fetch(`${url}/convo_history?access_token=${secret}`)).status, 401, 'not on history')

  const created = await json(fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('alice'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'Hello' }),
  }))
  const stream = await fetch(`${url}/convo_turn/${created.turnId}/stream?access_token=${secret}`)
  t.equal(stream.status, 200, 'accepted on the SSE stream route')
  await stream.text()
  t.equal((await fetch(`${url}/convo_turn/${created.turnId}/stream?access_token=forged`)).status, 401, 'a bad query token is 401')

  const ws = await TestSocket.open(`${wsUrl}/ws?access_token=${secret}`)
  ws.close()
  await t.rejects(TestSocket.open(`${wsUrl}/ws?access_token=${hs256(claims({ role: 'nobody' }))}`), /401/, 'a bad query token is refused at the upgrade')

  await new Promise((resolve) => setTimeout(resolve, 100)) // let the last log lines flush
  t.match(logged, /access_token=\[redacted\]/, 'the requests were logged, with the token redacted')
  // One access-log line per request, with the request id, status and time.
  const access = logged.split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((line) => line.msg === 'request completed')
  const streamLine = access.find((line) => line.url === `/convo_turn/${created.turnId}/stream?access_token=[redacted]`)
  t.match(streamLine, { level: 30, method: 'GET', statusCode: 200, reqId: String, responseTime: Number }, 'the stream request, once')
  t.equal(access.filter((line) => line.reqId === streamLine?.reqId).length, 1, 'one line for it, not two')
  t.notOk(logged.includes('incoming request'), "no separate 'incoming request' line")
  t.match(logged, /"url":"\/ws\?access_token=\[redacted\]","statusCode":101/, 'the WebSocket upgrade is logged too, redacted')
  t.notOk(logged.includes(secret), 'the token never appears in the logs')
  t.notOk(logged.includes(secret.split('.')[2]), 'not even its signature')
})

t.test('a kiosk token that expires while its socket is open: running turns finish, then close 4401', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  const { wsUrl } = await startApp(t, { STORAGE: 'memory', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: fake.url, JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  // The turn streams for about 5 s; the token expires about 3 s after it was signed.
  fake.enqueue({ kind: 'stream', chunks: ['I ', 'eat ', 'meat, ', 'mostly ', 'zebra ', 'and ', 'antelope', '.'], delayMs: 600 })
  const exp = now() + 3
  const ws = await TestSocket.open(`${wsUrl}/ws`, { authorization: `Bearer ${hs256(claims({ sub: 'kiosk', exp }))}` })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  ws.send({ type: 'turn', animalId: 'lion', message: 'What do you eat?' })
  const { turnId } = await ws.waitFor((f) => f.type === 'message')

  while (Date.now() <= exp * 1000 + 200) await new Promise((resolve) => setTimeout(resolve, 100))
  ws.send({ type: 'turn', animalId: 'lion', message: 'And for dessert?', clientTurnId: 'after-expiry' })
  t.match(await ws.waitFor((f) => f.turnId === 'after-expiry'), { type: 'error', data: { code: 'token_expired' } }, 'new frames are refused')

  const frames = await ws.turnFrames(turnId!)
  t.equal(frames.at(-1)!.type, 'storage', 'the running turn streamed to its end')
  t.same(await closed, { code: 4401, reason: 'token expired' }, 'then the socket closed with 4401')
})

t.test('an idle kiosk socket closes with 4401 when its token expires', async (t) => {
  const { wsUrl } = await startApp(t, { STORAGE: 'memory', JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const ws = await TestSocket.open(`${wsUrl}/ws?access_token=${hs256(claims({ sub: 'kiosk', exp: now() + 2 }))}`)
  const code = await new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)))
  t.equal(code, 4401)
})
