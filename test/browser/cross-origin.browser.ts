// A web page on another origin, in headless Chromium: it edits an animal (PUT), links and unlinks
// a child (PUT, DELETE), cancels a turn (DELETE), reads the headers the API exposes
// (X-Request-Id, Content-Disposition, Retry-After), and is refused when CORS_ORIGINS does not
// list it. Swagger UI at /docs renders under the service's Content-Security-Policy.
// Run with `npm run test:browser`.
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { startApp } from '../helpers/app.ts'
import { startFakeOpenAI } from '../helpers/fake-openai.ts'
import { words } from '../helpers/stream.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())

// The page's own origin: an empty page; the test runs its script with page.evaluate.
const pageServer = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>zoo page</title>'))
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => pageServer.close(resolve)))
const pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`

// Listed by name, as a deployment would; another origin is listed too so the list is a real list.
const gateway = await startApp(t, {
  OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, CORS_ORIGINS: `https://keepers.zoo.example, ${pageOrigin}`, RATE_LIMIT_TURNS_PER_MINUTE: '2',
})
const closed = await startApp(t, { STORAGE: 'memory', CORS_ORIGINS: 'https://keepers.zoo.example' })

const context = await chromium.launchPersistentContext(t.testdir(), {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
t.teardown(() => context.close())
const page = await context.newPage()
await page.goto(`${pageOrigin}/`)

/** fetch from the page: status, the exposed headers as the page's script sees them, and the body. */
const pageFetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
  page.evaluate(async ([url, init]) => {
    try {
      const res = await fetch(url, init)
      const text = await res.text()
      return {
        status: res.status, text,
        requestId: res.headers.get('x-request-id'), disposition: res.headers.get('content-disposition'),
        retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'),
      }
    } catch (err) {
      return { error: String(err) }
    }
  }, [url, init] as const) as Promise<{ status?: number; text?: string; requestId?: string | null; disposition?: string | null; retryAfter?: string | null; contentType?: string | null; error?: string }>

const bearer = (sub: string, role: 'user' | 'parent' | 'zookeeper' | 'admin' = 'user') => ({ authorization: `Bearer ${gateway.token(sub, role)}` })
const json = { 'content-type': 'application/json' }

t.test('PUT and DELETE from another origin work, and the page reads the exposed headers', async (t) => {
  const lion = JSON.parse((await pageFetch(`${gateway.url}/animals/lion`, { headers: bearer('kim', 'zookeeper') })).text!)
  const edited = await pageFetch(`${gateway.url}/animals/lion`, {
    method: 'PUT', headers: { ...bearer('kim', 'zookeeper'), ...json, 'x-request-id': 'keeper-page-1' },
    body: JSON.stringify({ name: lion.name, species: lion.species, personality: lion.personality, facts: lion.facts, greeting: 'Roar, welcome!' }),
  })
  t.equal(edited.status, 200, 'PUT /animals/lion')
  t.equal(JSON.parse(edited.text!).greeting, 'Roar, welcome!')
  t.equal(edited.requestId, 'keeper-page-1', 'the page reads X-Request-Id')

  const admin = bearer('root', 'admin')
  t.equal((await pageFetch(`${gateway.url}/families/pam/children/kid`, { method: 'PUT', headers: admin })).status, 200, 'PUT a family link')
  const unlinked = await pageFetch(`${gateway.url}/families/pam/children/kid`, { method: 'DELETE', headers: admin })
  t.equal(unlinked.status, 200, 'DELETE a family link')
  t.same(JSON.parse(unlinked.text!), { parentId: 'pam', children: [] })

  // A streamed turn, read to its end, then exported and deleted from the page.
  fake.enqueue({ kind: 'stream', chunks: words(20), delayMs: 10 })
  const streamed = await pageFetch(`${gateway.url}/convo_turn`, {
    method: 'POST', headers: { ...bearer('amy'), ...json, accept: 'text/event-stream' }, body: JSON.stringify({ animalId: 'lion', message: 'A story please' }),
  })
  t.equal(streamed.contentType, 'text/event-stream; charset=utf-8')
  t.match(streamed.text, /event: storage/)
  const history = JSON.parse((await pageFetch(`${gateway.url}/convo_history`, { headers: bearer('amy') })).text!)
  const sessionId = history.sessions[0].sessionId
  const turns = JSON.parse((await pageFetch(`${gateway.url}/convo_history?sessionId=${sessionId}`, { headers: bearer('amy') })).text!).turns
  t.equal(turns.length, 1, 'the streamed turn is stored')

  const exported = await pageFetch(`${gateway.url}/convo_history/export?sessionId=${sessionId}&format=md`, { headers: bearer('amy') })
  t.equal(exported.status, 200)
  t.equal(exported.disposition, `attachment; filename="session-${sessionId}.md"`, 'the page reads Content-Disposition')

  const deleted = await pageFetch(`${gateway.url}/convo_history?sessionId=${sessionId}`, { method: 'DELETE', headers: admin })
  t.equal(deleted.status, 204, 'DELETE /convo_history from the page')
})

t.test('DELETE /convo_turn/{turnId} cancels a running turn from the page', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(200), delayMs: 50 })
  const turnId = await page.evaluate(async ([url, auth]) => {
    const res = await fetch(`${url}/convo_turn`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ animalId: 'lion', message: 'Tell me everything' }) })
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    let match
    while (!(match = /"turnId":"([^"]+)"/.exec(text))) text += decoder.decode((await reader.read()).value, { stream: true })
    ;(globalThis as any).rest = (async () => { for (;;) { const { done, value } = await reader.read(); if (done) return text; text += decoder.decode(value, { stream: true }) } })()
    return match[1]
  }, [gateway.url, bearer('ben').authorization] as const)
  const cancelled = await pageFetch(`${gateway.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: bearer('ben') })
  t.equal(cancelled.status, 202, 'DELETE /convo_turn/{turnId}')
  const stream = await page.evaluate(() => (globalThis as any).rest as Promise<string>)
  t.match(stream, /event: error\ndata: \{"code":"cancelled"/, 'the stream ends with the cancel')
})

t.test('the page reads Retry-After on a 429', async (t) => {
  const send = () => pageFetch(`${gateway.url}/convo_turn`, { method: 'POST', headers: { ...bearer('cat'), ...json }, body: JSON.stringify({ animalId: 'penguin', message: 'Hi' }) })
  fake.enqueue({ kind: 'stream', chunks: ['Hi!'] })
  fake.enqueue({ kind: 'stream', chunks: ['Hi!'] })
  await send()
  await send()
  const limited = await send()
  t.equal(limited.status, 429)
  t.match(limited.retryAfter, /^\d+$/, 'Retry-After is readable by the page')
  t.match(JSON.parse(limited.text!), { error: 'rate_limited', retryable: true })
})

t.test('an origin CORS_ORIGINS does not list is refused by the browser', async (t) => {
  const refused = await pageFetch(`${closed.url}/animals/lion`, { method: 'PUT', headers: { ...bearer('kim', 'zookeeper'), ...json }, body: '{}' })
  t.match(refused.error, /Failed to fetch/, 'the preflight fails, the PUT is never sent')
})

t.test('Swagger UI at /docs renders under the Content-Security-Policy', async (t) => {
  const docs = await context.newPage()
  const violations: string[] = []
  docs.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()) })
  await docs.goto(`${gateway.url}/docs/`)
  await docs.waitForSelector('.opblock-summary-path', { timeout: 20000 })
  const paths = await docs.$$eval('.opblock-summary-path', (nodes) => nodes.map((node) => node.textContent?.trim()))
  t.ok(paths.includes('/convo_turn') && paths.includes('/ws'), 'the operations are listed')
  const locks = await docs.$$eval('.opblock', (blocks) => blocks.map((block) => ({
    path: block.querySelector('.opblock-summary-path')?.textContent?.trim(),
    locked: block.querySelector('.authorization__btn') !== null,
  })))
  t.same(locks.filter((op) => ['/healthz', '/readyz', '/metrics'].includes(op.path!)).map((op) => op.locked), [false, false, false], 'public routes show no lock')
  t.ok(locks.find((op) => op.path === '/animals')?.locked, 'a route that needs a token shows one')
  t.same(violations, [], 'no CSP violations')
  await docs.close()
})
