import t from 'tap'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

const { url } = await startApp(t)

t.test('liveness and readiness need no token', async (t) => {
  const health = await fetch(`${url}/healthz`)
  t.equal(health.status, 200)
  t.same(await json(health), { status: 'ok' })
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.same(await json(ready), { status: 'ready', storage: 'dynamodb' })
})

t.test('metrics and docs need no token', async (t) => {
  const metrics = await fetch(`${url}/metrics`)
  t.equal(metrics.status, 200)
  const text = await metrics.text()
  t.match(text, /process_cpu_user_seconds_total/)
  // The event-loop monitor wakes the loop every 100 ms, not prom-client's default 10 ms: its
  // shortest sample is the interval itself.
  const min = Number(/^nodejs_eventloop_lag_min_seconds ([\d.e+-]+)/m.exec(text)?.[1])
  t.ok(min >= 0.099, `sampled every 100 ms (shortest sample ${min} s)`)
  const openapi = await fetch(`${url}/docs/json`)
  t.equal(openapi.status, 200)
  const doc = await json(openapi)
  t.ok(doc.paths['/convo_turn'], 'the OpenAPI document lists /convo_turn')
})

t.test('unknown routes are a JSON 404', async (t) => {
  const res = await fetch(`${url}/nope`)
  t.equal(res.status, 404)
  t.equal((await json(res)).error, 'not_found')
})
