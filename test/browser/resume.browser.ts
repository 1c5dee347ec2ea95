// End to end in headless Chromium (Debian's `chromium`, driven by playwright-core): a page uses
// the browser's own EventSource and WebSocket to run a turn, is cut off mid-stream and resumes;
// it must assemble the whole reply exactly once. Run with `npm run test:browser`.
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { startApp } from '../helpers/app.ts'
import { startCutProxy } from '../helpers/cut-proxy.ts'
import { startFakeOpenAI } from '../helpers/fake-openai.ts'
import { idsInOrder, sleep, words } from '../helpers/stream.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const PAGE = readFileSync(new URL('./page.html', import.meta.url), 'utf8')

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, token } = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url })

// The page comes from its own origin, as a zoo web page would (the app allows it by CORS).
const pageServer = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE))
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => pageServer.close(resolve)))

// A TCP proxy between the browser and the app stands in for the Wi-Fi: the test cuts it.
const proxy = await startCutProxy(t, Number(new URL(url).port))

const context = await chromium.launchPersistentContext(t.testdir(), {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
t.teardown(() => context.close())
const page = await context.newPage()
await page.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`)

interface Seen { id: string; type: string; data: Record<string, unknown> }

t.test('EventSource: cut off mid-stream, the browser reconnects with Last-Event-ID and gets each event once', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(40), delayMs: 40 })
  const alice = token('alice')
  const turnId = await page.evaluate(([appUrl, tok]) => (globalThis as any).startTurn(appUrl, tok, 'Tell me a long story'), [url, alice])
  const followed = page.evaluate((streamUrl) => (globalThis as any).followWithEventSource(streamUrl), `${proxy.url}/convo_turn/${turnId}/stream?access_token=${alice}`)

  for (;;) { // wait for a few deltas, then cut the connection
    const deltas = await page.evaluate(() => (globalThis as any).seen.filter((e: Seen) => e.type === 'message').length as number)
    if (deltas >= 5) break
    await sleep(20)
  }
  proxy.cut()

  const { seen, connectionErrors } = (await followed) as { seen: Seen[]; connectionErrors: number }
  t.ok(connectionErrors >= 1, 'the browser saw the connection drop')
  t.ok(idsInOrder(seen, turnId), 'every event exactly once across the reconnect')
  t.equal(seen.at(-1)!.type, 'storage')
  t.equal(seen.filter((e) => e.type === 'message').map((e) => e.data.delta).join(''), words(40).join(''), 'the whole reply')
})

t.test('WebSocket: the page closes its socket mid-turn and resumes on a new one', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(40), delayMs: 40 })
  const frames = (await page.evaluate(([ws, tok]) => (globalThis as any).wsTurnWithResume(ws, tok, 5), [wsUrl, token('kiosk')])) as Array<Seen & { turnId: string }>
  const turnId = frames[0].turnId
  t.ok(idsInOrder(frames, turnId), 'every event exactly once across the two sockets')
  t.equal(frames.at(-1)!.type, 'storage')
  t.equal(frames.filter((f) => f.type === 'message').map((f) => f.data.delta).join(''), words(40).join(''))
})
