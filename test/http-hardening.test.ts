// What browsers, fuzzers and attackers get over real HTTP: CORS and security headers, request
// ids, strict query spelling, lengths in characters, and every framework error in the service's
// `{ error, message, retryable }` shape with a message that says what to send.
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

const ORIGIN = 'https://zoo.example'

/** A request exactly as written (fetch would normalise the path). */
function raw(url: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: any }>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = httpRequest({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = ''
      res.on('data', (chunk) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

const errorShape = (status: number, error: string, message: RegExp) => ({ status, body: { error, message, retryable: false } })

t.test('CORS: every method, the headers pages need, no null origin', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory' })
  for (const method of ['PUT', 'DELETE']) {
    const res = await fetch(`${url}/convo_history`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type,last-event-id' },
    })
    t.equal(res.status, 204, `${method} preflight`)
    t.equal(res.headers.get('access-control-allow-origin'), '*', 'any origin by default, without credentials')
    t.notOk(res.headers.get('access-control-allow-credentials'))
    t.same(res.headers.get('access-control-allow-methods')!.split(/,\s*/), ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'])
    t.match(res.headers.get('access-control-allow-headers')!.toLowerCase(), /authorization.*content-type.*last-event-id/)
  }
  const res = await fetch(`${url}/healthz`, { headers: { origin: ORIGIN } })
  t.same(res.headers.get('access-control-expose-headers')!.split(/,\s*/), ['Retry-After', 'Content-Disposition', 'X-Request-Id', 'X-Session-Id'])
  const fromNull = await fetch(`${url}/healthz`, { headers: { origin: 'null' } })
  t.not(fromNull.headers.get('access-control-allow-origin'), 'null', 'the null origin is never echoed')
})

t.test('CORS_ORIGINS: only the listed origins are allowed', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory', CORS_ORIGINS: `${ORIGIN}, http://localhost:3000` })
  const allowed = await fetch(`${url}/healthz`, { headers: { origin: ORIGIN } })
  t.equal(allowed.headers.get('access-control-allow-origin'), ORIGIN)
  t.match(allowed.headers.get('vary'), /Origin/)
  for (const origin of ['https://evil.example', 'null', 'https://zoo.example.evil.example']) {
    const res = await fetch(`${url}/healthz`, { headers: { origin } })
    t.equal(res.headers.get('access-control-allow-origin'), null, `${origin} is not allowed`)
  }
})

t.test('security headers, with a CSP that allows same-origin files only', async (t) => {
  const { url, auth } = await startApp(t, { STORAGE: 'memory' })
  for (const path of ['/docs/', '/animals', '/nope']) {
    const res = await fetch(`${url}${path}`, { headers: auth('alice') })
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`)
    t.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', `${path}: frame options`)
    const csp = res.headers.get('content-security-policy') ?? ''
    t.match(csp, /default-src 'self'/, `${path}: a CSP`)
    t.match(csp, /script-src 'self';/)
    t.match(csp, /connect-src 'self'/)
    t.match(csp, /frame-ancestors 'self'/)
    t.notOk(/script-src[^;]*unsafe/.test(csp), 'no inline script')
    if (path === '/docs/') t.match(csp, /style-src 'self' 'unsafe-inline'/, 'Swagger UI sets style attributes: inline styles on its pages only')
    else t.notOk(csp.includes('unsafe-inline'), 'nothing inline')
  }
})

t.test('request ids: a short plain X-Request-Id is kept and echoed, anything else replaced', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory' })
  const echoed = async (id?: string) => (await fetch(`${url}/healthz`, { headers: id === undefined ? {} : { 'x-request-id': id } })).headers.get('x-request-id')
  t.equal(await echoed('kiosk-7.turn_42'), 'kiosk-7.turn_42')
  for (const bad of ['x'.repeat(65), 'has space', 'quote"', '{"json":1}', '']) {
    const id = await echoed(bad)
    t.not(id, bad, `${JSON.stringify(bad.slice(0, 20))} is not used`)
    t.match(id, /^[0-9a-f-]{36}$/, 'a generated id instead')
  }
  t.match(await echoed(), /^[0-9a-f-]{36}$/, 'generated when none is sent')
  const badUrl = await raw(url, '/animals/%ZZ', { headers: { 'x-request-id': 'trace-1' } })
  t.equal(badUrl.headers['x-request-id'], 'trace-1', 'also on errors raised before routing')
})

t.test('query integers and booleans are strict; the 400 names the field', async (t) => {
  const { url, auth } = await startApp(t, { STORAGE: 'memory' })
  for (const limit of ['1.5', '1e1', '0x2', '020', ' 5', 'ten']) {
    const res = await fetch(`${url}/convo_history?limit=${encodeURIComponent(limit)}`, { headers: auth('alice') })
    t.same({ status: res.status, body: await res.json() }, { status: 400, body: { error: 'bad_request', message: 'querystring.limit must be an integer written in digits, e.g. 20', retryable: false } }, `limit=${limit}`)
  }
  t.equal((await fetch(`${url}/convo_history?limit=5`, { headers: auth('alice') })).status, 200, 'limit=5')
  for (const stream of ['TRUE', '1', 'yes']) {
    const res = await fetch(`${url}/convo_turn?stream=${stream}`, {
      method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'hi' }),
    })
    t.same({ status: res.status, body: await res.json() }, { status: 400, body: { error: 'bad_request', message: 'querystring.stream must be true or false', retryable: false } }, `stream=${stream}`)
  }
  const enumError = await json(fetch(`${url}/convo_history/export?sessionId=s&format=pdf`, { headers: auth('alice') }))
  t.same(enumError, { error: 'bad_request', message: 'querystring.format must be one of json, csv, md', retryable: false }, 'an enum error lists what to send')
})

t.test('a message is counted in characters: 2,000 emoji pass, 2,001 do not', async (t) => {
  const { url, auth } = await startApp(t, { STORAGE: 'memory' })
  const send = (message: string) => fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message }),
  })
  t.equal((await send('🦁'.repeat(2000))).status, 200, '2,000 emoji (4,000 UTF-16 units)')
  const over = await send('🦁'.repeat(2001))
  t.same({ status: over.status, body: await over.json() }, { status: 400, body: { error: 'bad_request', message: 'message must be at most 2000 characters', retryable: false } })
  t.equal((await send('a'.repeat(2000))).status, 200)
})

t.test('framework errors answer { error, message, retryable } and say what to send', async (t) => {
  const { url, auth } = await startApp(t, { STORAGE: 'memory' })
  const headers = auth('alice')
  const cases: Array<[string, ReturnType<typeof raw>, ReturnType<typeof errorShape>]> = [
    ['an id of 129 characters (414)', raw(url, `/animals/${'a'.repeat(129)}`, { headers }), errorShape(414, 'uri_too_long', /longer than 128 characters: ids are 1\.\.128 of/)],
    ['an undecodable path (bad URL)', raw(url, '/animals/%ZZ', { headers }), errorShape(400, 'bad_request', /The URL is not valid: percent-encode/)],
    ['a text/plain body (415)', raw(url, '/convo_turn', { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: 'hi' }), errorShape(415, 'unsupported_media_type', /^Content-Type 'text\/plain' is not accepted: send a JSON body with Content-Type: application\/json$/)],
    ['an XML body (415)', raw(url, '/convo_turn', { method: 'POST', headers: { ...headers, 'content-type': 'application/xml' }, body: '<a/>' }), errorShape(415, 'unsupported_media_type', /send a JSON body/)],
    ['a body over BODY_LIMIT_BYTES (413)', raw(url, '/convo_turn', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'x'.repeat(20000) }) }), errorShape(413, 'payload_too_large', /larger than 16384 bytes \(BODY_LIMIT_BYTES\)/)],
    ['broken JSON', raw(url, '/convo_turn', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"animalId":' }), errorShape(400, 'bad_request', /not valid JSON: send a JSON object/)],
    ['an unknown route (404)', raw(url, '/animalz', { headers }), errorShape(404, 'not_found', /Route GET \/animalz not found: the routes are listed at \/docs/)],
    ['a known path with another method (405)', raw(url, '/animals/lion', { method: 'DELETE', headers }), errorShape(405, 'method_not_allowed', /^DELETE is not a method of \/animals\/lion: use GET, HEAD, PUT$/)],
    ['a schema error', raw(url, '/convo_turn', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"animalId":"lion"}' }), errorShape(400, 'bad_request', /^body\.message is required$/)],
  ]
  for (const [label, pending, expected] of cases) {
    const res = await pending
    t.match({ status: res.status, body: res.body }, expected, label)
    t.same(Object.keys(res.body ?? {}).sort(), ['error', 'message', 'retryable'], `${label}: exactly the three fields`)
  }
  const patch = await raw(url, '/convo_history', { method: 'PATCH', headers })
  t.equal(patch.headers.allow, 'GET, HEAD, DELETE', '405 carries Allow')
  t.equal((await raw(url, `/animals/${'a'.repeat(128)}`, { headers })).status, 404, '128 characters is a valid id (not found)')
  t.match(await raw(url, '/animals/..', { headers }), errorShape(400, 'bad_request', /^params\.animalId must match pattern/), 'a dot segment is not an id')
})

t.test('431: headers over 16 KiB, in the service\'s shape', async (t) => {
  const { url } = await startApp(t, { STORAGE: 'memory' })
  const { port } = new URL(url)
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`))
    let text = ''
    socket.on('data', (chunk) => { text += chunk })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /content-type: application\/json/i)
  t.same(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), {
    error: 'headers_too_large', message: 'The request headers are larger than 16 KiB: send a shorter Authorization header and fewer or smaller headers', retryable: false,
  })
})

t.test('access_token: however its name is encoded it is redacted, and only the stream route and /ws take it', async (t) => {
  const logs = new PassThrough()
  let logged = ''
  logs.on('data', (chunk) => { logged += chunk })
  const { url, token, auth } = await startApp(t, { STORAGE: 'memory', LOG_LEVEL: 'info' }, { logStream: logs })
  const secret = token('alice')
  const created = await json(fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Hello' }),
  }))
  for (const name of ['access%5Ftoken', '%61ccess_token', 'acc%65ss_token', 'access_token']) {
    const res = await fetch(`${url}/convo_turn/${created.turnId}/stream?${name}=${secret}`)
    t.equal(res.status, 200, `${name} authenticates the stream route (it is access_token once decoded)`)
    await res.text()
  }
  const turnWithQueryToken = await fetch(`${url}/convo_turn?access_token=${secret}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Hello' }),
  })
  t.equal(turnWithQueryToken.status, 401, 'POST /convo_turn takes a header only')
  t.equal((await fetch(`${url}/animals?access%5Ftoken=${secret}`)).status, 401, 'nor does any other route, encoded or not')
  await new Promise((resolve) => setTimeout(resolve, 100)) // let the last lines flush
  t.notOk(logged.includes(secret), 'the token never reaches the log')
  t.notOk(logged.includes(secret.split('.')[2]!), 'not even its signature')
  for (const name of ['access%5Ftoken', '%61ccess_token', 'acc%65ss_token', 'access_token']) {
    t.ok(logged.includes(`?${name}=[redacted]`), `${name} is logged redacted`)
  }
})
