// The web app's static files: public without a token, outside the API's auth, no inline script
// or style (the pages must run under `script-src 'self'; style-src 'self'`), and unknown paths
// still answered by the API's JSON 404.
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { startApp } from './helpers/app.ts'

const { app } = await startApp(t, { STORAGE: 'memory' })

t.test('the pages, their assets and the client library are served without a token', async (t) => {
  for (const [url, type] of [
    ['/', 'text/html'], ['/family.html', 'text/html'], ['/keeper.html', 'text/html'],
    ['/js/kiosk.js', 'javascript'], ['/css/kiosk.css', 'text/css'], ['/img/lion.svg', 'image/svg+xml'],
    ['/client/index.js', 'javascript'], ['/client/gateway-client.js', 'javascript'],
  ]) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 200, url)
    t.match(response.headers['content-type'], type, `${url} is ${type}`)
  }
  const index = await app.inject({ url: '/' })
  t.match(index.body, /role="log"/, '/ is the kiosk')
})

t.test('the API keeps its authentication, and unknown paths their JSON 404', async (t) => {
  t.equal((await app.inject({ url: '/animals' })).statusCode, 401)
  t.equal((await app.inject({ url: '/convo_history' })).statusCode, 401)
  const missing = await app.inject({ url: '/no-such-page.html' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { error: 'not_found' })
  t.equal((await app.inject({ url: '/client/index.d.ts' })).statusCode, 404, 'type declarations are not served')
})

t.test('no inline script or style in any page', async (t) => {
  const dir = new URL('../public/', import.meta.url)
  const pages = readdirSync(dir).filter((name) => name.endsWith('.html'))
  t.ok(pages.length >= 3)
  for (const name of pages) {
    const html = readFileSync(new URL(name, dir), 'utf8')
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${name}: every script has a src`)
    t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${name}: no style element, style attribute or inline handler`)
  }
})
