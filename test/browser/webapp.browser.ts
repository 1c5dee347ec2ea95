// The web app in headless Chromium (playwright-core, Debian's chromium), served by the real
// gateway through a TCP proxy the test can cut (the kiosk's Wi-Fi): a child's turn streamed in,
// the network cut mid-reply, the server restarted under the page, "New visitor" and the idle
// wipe, the family and keeper pages. Every page runs under a strict CSP (no inline script or
// style). Screenshots go to docs/screenshots/. Run with `npm run test:browser`.
import { mkdirSync } from 'node:fs'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t from 'tap'
import { startCutProxy } from '../helpers/cut-proxy.ts'
import { startFakeOpenAI } from '../helpers/fake-openai.ts'
import { startRestartableGateway } from '../helpers/restartable.ts'
import { json } from '../helpers/http.ts'
import { words } from '../helpers/stream.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url)
mkdirSync(SCREENSHOTS, { recursive: true })
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
// No clock tolerance, so a token's expiry is when its `exp` says (the rotation test relies on it).
const gateway = await startRestartableGateway(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, JWT_CLOCK_TOLERANCE_SECONDS: '0' })
const proxy = await startCutProxy(t, gateway.port)
const api = (path: string, sub: string, role: 'user' | 'parent' | 'zookeeper' | 'admin', init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${gateway.token(sub, role)}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } })

const context = await chromium.launchPersistentContext(t.testdir(), {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 768, height: 1024 },
  // A page whose response the test rewrote (to add the CSP) has no address Chromium knows, so its
  // Local Network Access checks would block its WebSocket to 127.0.0.1: off for the test.
  args: [...ARGS, '--disable-features=LocalNetworkAccessChecks'],
})
t.teardown(() => context.close())
// The pages come with a strict CSP, as @fastify/helmet will send it: any inline script or style breaks them.
const withCsp = (target: BrowserContext) => target.route((url) => /\/$|\.html$/.test(url.pathname), async (route) => {
  const response = await route.fetch()
  await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CSP } })
})
await withCsp(context)
const problems: string[] = []
const watch = (page: Page) => {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) problems.push(message.text()) })
  return page
}

const kioskToken = gateway.token('kiosk-lion', 'user')
const page = watch(await context.newPage())
await page.goto(`${proxy.url}/?animal=lion#token=${kioskToken}`)
const log = page.getByRole('log')
const message = page.getByRole('textbox', { name: 'Message' })
const send = page.getByRole('button', { name: 'Send' })
const lastReply = () => log.locator('.bubble.animal').last()
const replyDone = () => page.waitForFunction(() => {
  const bubbles = (globalThis as any).document.querySelectorAll('#conversation .bubble.animal')
  return bubbles.length > 1 && !bubbles[bubbles.length - 1].hasAttribute('aria-busy')
})

t.test('a child asks; the reply streams into the conversation log', async (t) => {
  await t.resolves(log.getByText('Hello there, I\'m Leo the lion').waitFor(), 'the greeting')
  t.equal(page.url(), `${proxy.url}/?animal=lion`, 'the token left the address bar')
  fake.enqueue({ kind: 'stream', chunks: words(12, 'roar'), delayMs: 150 })
  await message.fill('What do you eat?')
  await send.click()
  await log.getByText('What do you eat?').waitFor()
  await page.waitForFunction(() => /roar3/.test((globalThis as any).document.querySelector('#conversation .bubble.animal:last-child')?.textContent ?? ''))
  t.notOk(/roar11/.test(await lastReply().innerText()), 'seen mid-stream: the reply streams in')
  await replyDone()
  t.equal(await lastReply().locator('.text').textContent(), words(12, 'roar').join(''))
  t.ok(await lastReply().getByRole('button', { name: 'Listen' }).isVisible(), 'a Listen button reads it aloud')
  t.equal(await message.inputValue(), '', 'the message box is cleared')
  await page.screenshot({ path: new URL('kiosk-tablet.png', SCREENSHOTS).pathname })
})

t.test('the network is cut mid-reply and comes back: the reply completes once', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(40), delayMs: 40 })
  const connections = proxy.connections
  const requests = fake.requests.length
  await message.fill('Tell me a long story')
  await send.click()
  await page.waitForFunction(() => /word5 /.test((globalThis as any).document.querySelector('#conversation .bubble.animal:last-child .text')?.textContent ?? ''))
  proxy.cut()
  await replyDone()
  t.equal(await lastReply().locator('.text').textContent(), words(40).join(''), 'every word once, in order')
  t.ok(proxy.connections > connections, 'the page opened a new connection')
  t.equal(fake.requests.length - requests, 1, 'the model was asked once')
})

t.test('the server restarts under the page: it says so kindly, reconnects by itself and sends what was typed', async (t) => {
  await gateway.stop()
  const status = page.getByRole('status')
  await t.resolves(status.getByText(/Wi-Fi wobbled/).waitFor(), 'a kind reconnecting message')
  fake.enqueue({ kind: 'stream', chunks: words(5, 'back') })
  await message.fill('Are you back?')
  await send.click()
  await t.resolves(lastReply().getByText(/Waiting for the Wi-Fi/).waitFor(), 'the message waits')
  await gateway.start()
  await replyDone()
  t.equal(await lastReply().locator('.text').textContent(), words(5, 'back').join(''))
  t.ok(await status.isHidden(), 'the status message is gone')
  const sessions = (await json(api('/convo_history?limit=5', 'kiosk-lion', 'user'))).sessions
  const turns = (await json(api(`/convo_history?sessionId=${sessions[0].sessionId}`, 'kiosk-lion', 'user'))).turns
  t.same(turns.map((turn: { userMessage: string }) => turn.userMessage), ['What do you eat?', 'Tell me a long story', 'Are you back?'], 'one session, each message stored once')
})

t.test('"New visitor" wipes the screen and the next child gets a fresh session', async (t) => {
  const before = (await json(api('/convo_history', 'kiosk-lion', 'user'))).sessions.length
  await message.fill('half typed')
  await page.getByRole('button', { name: 'New visitor' }).click()
  t.equal(await log.locator('.bubble').count(), 1, 'only the greeting is left')
  t.notOk(await log.getByText('What do you eat?').count(), 'the last child\'s chat is gone')
  t.equal(await message.inputValue(), '', 'and their half-typed message')
  await message.fill('Hi Leo')
  await send.click()
  await replyDone()
  const after = (await json(api('/convo_history', 'kiosk-lion', 'user'))).sessions.length
  t.equal(after, before + 1, 'a new session')
})

t.test('the idle timeout wipes the screen', async (t) => {
  const idle = watch(await context.newPage())
  t.teardown(() => idle.close())
  await idle.goto(`${proxy.url}/?animal=penguin&idle=3`)
  await idle.getByRole('textbox', { name: 'Message' }).fill('Do you like fish?')
  await idle.getByRole('button', { name: 'Send' }).click()
  await idle.getByRole('log').getByText('Do you like fish?', { exact: true }).waitFor()
  await t.resolves(idle.getByRole('alertdialog').getByText('Are you still there?').waitFor(), 'a warning first')
  await idle.waitForFunction(() => (globalThis as any).document.querySelectorAll('#conversation .bubble').length === 1, undefined, { timeout: 10_000 })
  t.pass('wiped back to the greeting')
})

t.test('on a phone', async (t) => {
  const phone = watch(await context.newPage())
  t.teardown(() => phone.close())
  await phone.setViewportSize({ width: 390, height: 844 })
  await phone.goto(`${proxy.url}/?animal=penguin`)
  fake.enqueue({ kind: 'stream', chunks: ['Hiya! ', 'I love ', 'fish, ', 'krill ', 'and squid. ', '*flap flap*'] })
  await phone.getByRole('textbox', { name: 'Message' }).fill('What do you eat?')
  await phone.getByRole('button', { name: 'Send' }).click()
  await phone.getByRole('log').getByText('Hiya! I love fish, krill and squid. *flap flap*', { exact: true }).waitFor()
  await phone.waitForFunction(() => !(globalThis as any).document.querySelector('#conversation .bubble.animal:last-child[aria-busy]'))
  const width = await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)
  t.ok(width <= 390, 'nothing overflows sideways')
  await phone.screenshot({ path: new URL('kiosk-phone.png', SCREENSHOTS).pathname })
})

t.test('without a token the kiosk asks for a zookeeper, and picking an animal works', async (t) => {
  const fresh = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => fresh.close())
  const blank = await fresh.newPage({ viewport: { width: 768, height: 1024 } })
  await blank.goto(`${proxy.url}/`)
  await t.resolves(blank.getByRole('heading', { name: 'This tablet needs a zookeeper' }).waitFor())
  await blank.getByLabel('Device token (for zoo staff)').fill(kioskToken)
  await blank.getByRole('button', { name: 'Start' }).click()
  await blank.getByRole('button', { name: /Zara/ }).click()
  await t.resolves(blank.getByRole('heading', { name: 'Zara the giraffe' }).waitFor(), 'the chosen animal')
})

t.test('the kiosk\'s token is rotated on the open socket before it expires', async (t) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, '--disable-features=LocalNetworkAccessChecks'] })
  t.teardown(() => browser.close())
  const own = await browser.newContext({ viewport: { width: 768, height: 1024 } })
  await withCsp(own)
  // The zoo's device-token endpoint (the kiosk's `refresh` URL): it gets the current token, answers a new one.
  const refreshCalls: Array<string | undefined> = []
  let fresh = ''
  await own.route('**/device-token', (route) => {
    refreshCalls.push(route.request().headers().authorization)
    return route.fulfill({ json: { token: fresh } })
  })
  const kiosk = watch(await own.newPage())
  const exp = Math.floor(Date.now() / 1000) + 12
  const shortLived = gateway.token('kiosk-rotate', 'user', { exp })
  fresh = gateway.token('kiosk-rotate', 'user', { exp: exp + 3600 })
  let sockets = 0
  kiosk.on('websocket', () => { sockets++ })
  await kiosk.goto(`${proxy.url}/?animal=lion#token=${shortLived}&refresh=/device-token`)
  const box = kiosk.getByRole('textbox', { name: 'Message' })
  await box.fill('Hello Leo')
  await kiosk.getByRole('button', { name: 'Send' }).click()
  await kiosk.getByRole('log').locator('.bubble.animal .listen').nth(1).waitFor()
  while (Date.now() < exp * 1000 + 1500) await kiosk.waitForTimeout(250) // the first token has run out
  t.ok(refreshCalls.length >= 1, 'the kiosk asked for a fresh token')
  t.equal(refreshCalls[0], `Bearer ${shortLived}`, 'with the current one')
  await box.fill('Are you still there?')
  await kiosk.getByRole('button', { name: 'Send' }).click()
  await t.resolves(kiosk.getByRole('log').locator('.bubble.animal .listen').nth(2).waitFor(), 'answered after the old token expired')
  t.equal(sockets, 1, 'on the same socket: the token was replaced with an auth frame, no reconnect')
  t.equal(await kiosk.evaluate(() => (globalThis as any).localStorage.getItem('animal-chat.kiosk.token')), fresh, 'the new token is kept')
})

t.test('a parent signs in and sees a linked child\'s session, reads it and its flags', async (t) => {
  t.equal((await api('/families/pam/children/kid', 'root', 'admin', { method: 'PUT' })).status, 200)
  const turn = await json(api('/convo_turn', 'kid', 'user', { method: 'POST', body: JSON.stringify({ animalId: 'elephant', message: 'Do elephants like baths?' }) }))
  t.ok(turn.turnId)
  const family = watch(await context.newPage())
  t.teardown(() => family.close())
  await family.goto(`${proxy.url}/family.html#token=${gateway.token('pam', 'parent')}`)
  const card = family.getByRole('article', { name: 'kid' })
  await t.resolves(card.getByRole('cell', { name: 'elephant' }).waitFor(), 'the child\'s session is listed')
  await card.getByRole('button', { name: 'Read' }).first().click()
  const transcript = family.getByRole('log', { name: 'Conversation' })
  await t.resolves(transcript.locator('.said.visitor').getByText('Do elephants like baths?').waitFor(), 'the conversation')
  await t.resolves(card.locator('.notice').filter({ hasText: /safety flags/i }).or(card.getByText('No safety flags')).first().waitFor(), 'the flags, or a kind note that the list is not available yet')
  await family.screenshot({ path: new URL('family.png', SCREENSHOTS).pathname, fullPage: true })
})

t.test('a zookeeper sees the desk and edits an animal\'s facts', async (t) => {
  const keeper = watch(await context.newPage())
  t.teardown(() => keeper.close())
  await keeper.goto(`${proxy.url}/keeper.html#token=${gateway.token('kim', 'zookeeper')}`)
  await keeper.getByLabel('Animal', { exact: true }).selectOption('lion')
  await t.resolves(keeper.getByRole('cell', { name: 'kiosk-lion' }).first().waitFor(), 'the kiosk\'s conversations with Leo')
  await t.resolves(keeper.getByText('Reply p50 (ms)').waitFor(), 'the analytics table')
  await t.resolves(keeper.getByRole('img', { name: /^lion: [1-9]\d* turns over \d+ days/ }).waitFor(), "a chart of Leo's turns per day")
  await keeper.getByRole('button', { name: 'Edit Leo' }).click()
  const facts = keeper.getByLabel('Facts (one per line)')
  await facts.fill(`${await facts.inputValue()}\nLeo's favourite toy is a big blue ball.`)
  await keeper.getByRole('button', { name: 'Save animal' }).click()
  await t.resolves(keeper.getByText(/Saved Leo/).waitFor())
  const lion = await json(api('/animals/lion', 'kim', 'zookeeper'))
  t.equal(lion.facts.at(-1), 'Leo\'s favourite toy is a big blue ball.', 'stored through PUT /animals/lion')
  await keeper.screenshot({ path: new URL('keeper.png', SCREENSHOTS).pathname, fullPage: true })
  await keeper.getByRole('button', { name: 'Close' }).click()
  t.ok(await keeper.locator('#animal-form').isHidden(), 'the form closes')
})

t.test('no page broke its CSP or threw', async (t) => {
  t.same(problems, [])
})

