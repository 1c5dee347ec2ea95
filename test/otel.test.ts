// OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, a local OTLP/HTTP receiver (JSON) gets a
// turn span with a `chat <model>` child per model call, named and attributed after the GenAI
// conventions, and the GenAI client histograms. Without it the SDK is never loaded.
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import * as incubating from '@opentelemetry/semantic-conventions/incubating'
import t from 'tap'
import { ERROR_TYPE, GEN_AI, GEN_AI_METRIC } from '../src/telemetry/genai.ts'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'

/** A collector stand-in: keeps every JSON body POSTed to /v1/traces and /v1/metrics. */
async function startOtlpReceiver() {
  const received: Record<string, any[]> = { '/v1/traces': [], '/v1/metrics': [] }
  const contentTypes = new Set<string>()
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']))
      received[req.url ?? '']?.push(JSON.parse(body))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** OTLP JSON attributes ([{ key, value: { stringValue | intValue | ... } }]) as a plain object. */
function attributes(list: { key: string; value: Record<string, any> }[] = []): Record<string, unknown> {
  const plain = (value: Record<string, any>): unknown => {
    if ('arrayValue' in value) return (value.arrayValue.values ?? []).map(plain)
    const [kind, v] = Object.entries(value)[0]!
    return kind === 'intValue' ? Number(v) : v
  }
  return Object.fromEntries(list.map(({ key, value }) => [key, plain(value)]))
}

t.test('the GenAI names match the semantic conventions package', async (t) => {
  const conventions = incubating as unknown as Record<string, string>
  t.equal(GEN_AI.operationName, conventions.ATTR_GEN_AI_OPERATION_NAME)
  t.equal(GEN_AI.providerName, conventions.ATTR_GEN_AI_PROVIDER_NAME)
  t.equal(GEN_AI.requestModel, conventions.ATTR_GEN_AI_REQUEST_MODEL)
  t.equal(GEN_AI.responseModel, conventions.ATTR_GEN_AI_RESPONSE_MODEL)
  t.equal(GEN_AI.inputTokens, conventions.ATTR_GEN_AI_USAGE_INPUT_TOKENS)
  t.equal(GEN_AI.outputTokens, conventions.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS)
  t.equal(GEN_AI.finishReasons, conventions.ATTR_GEN_AI_RESPONSE_FINISH_REASONS)
  t.equal(GEN_AI.conversationId, conventions.ATTR_GEN_AI_CONVERSATION_ID)
  t.equal(GEN_AI.agentId, conventions.ATTR_GEN_AI_AGENT_ID)
  t.equal(GEN_AI.agentName, conventions.ATTR_GEN_AI_AGENT_NAME)
  t.equal(GEN_AI.timeToFirstChunk, conventions.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
  t.equal(GEN_AI.tokenType, conventions.ATTR_GEN_AI_TOKEN_TYPE)
  t.equal(GEN_AI_METRIC.tokenUsage, conventions.METRIC_GEN_AI_CLIENT_TOKEN_USAGE)
  t.equal(GEN_AI_METRIC.operationDuration, conventions.METRIC_GEN_AI_CLIENT_OPERATION_DURATION)
  t.equal(GEN_AI_METRIC.timeToFirstChunk, conventions.METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
  t.equal(conventions.GEN_AI_OPERATION_NAME_VALUE_CHAT, 'chat')
  t.equal(conventions.GEN_AI_PROVIDER_NAME_VALUE_OPENAI, 'openai')
})

t.test('spans and metrics reach an OTLP/HTTP receiver', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const { app, url, auth } = await startApp(t, {
    STORAGE: 'memory', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0',
    LLM_FALLBACK: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'zoo-test',
  })
  const send = () => fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'What do you eat?' }),
  })
  fake.enqueue({ kind: 'stream', chunks: ['Mostly ', 'zebras', '!'] }, { kind: 'status', status: 500 })
  const ok = await json(send())
  t.equal((await send()).status, 502)
  await app.close() // flushes the exporters

  t.ok([...receiver.contentTypes].every((type) => type.startsWith('application/json')), 'the JSON protocol')
  const resourceSpans = receiver.received['/v1/traces']!.flatMap((body) => body.resourceSpans)
  t.equal(attributes(resourceSpans[0].resource.attributes)['service.name'], 'zoo-test')
  const spans = resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))
  t.same(spans.map((s: any) => s.name).sort(), ['chat gpt-test', 'chat gpt-test', 'invoke_agent Leo', 'invoke_agent Leo'])

  const turnSpans = spans.filter((s: any) => s.name === 'invoke_agent Leo')
  const okTurn = turnSpans.find((s: any) => attributes(s.attributes)['animal_chat.turn.id'] === ok.turnId)
  t.match(attributes(okTurn.attributes), {
    [GEN_AI.operationName]: 'invoke_agent', [GEN_AI.agentName]: 'Leo', [GEN_AI.agentId]: 'lion',
    [GEN_AI.conversationId]: ok.sessionId, 'animal_chat.turn.status': 'complete', 'animal_chat.turn.stored': true,
  })
  const chat = spans.find((s: any) => s.name === 'chat gpt-test' && s.parentSpanId === okTurn.spanId)
  t.ok(chat, 'the model call is a child of its turn')
  t.equal(chat.traceId, okTurn.traceId)
  t.equal(chat.kind, 3, 'SPAN_KIND_CLIENT')
  const chatAttributes = attributes(chat.attributes)
  t.match(chatAttributes, {
    [GEN_AI.operationName]: 'chat', [GEN_AI.providerName]: 'openai', [GEN_AI.requestModel]: 'gpt-test', [GEN_AI.responseModel]: 'gpt-test',
    [GEN_AI.inputTokens]: ok.usage.promptTokens, [GEN_AI.outputTokens]: ok.usage.completionTokens,
    [GEN_AI.finishReasons]: ['stop'], [GEN_AI.conversationId]: ok.sessionId,
  })
  t.type(chatAttributes[GEN_AI.timeToFirstChunk], 'number')
  t.ok(BigInt(chat.startTimeUnixNano) >= BigInt(okTurn.startTimeUnixNano) && BigInt(chat.endTimeUnixNano) <= BigInt(okTurn.endTimeUnixNano), 'inside its turn')

  const failedTurn = turnSpans.find((s: any) => s !== okTurn)
  t.equal(failedTurn.status.code, 2, 'a failed turn is an error')
  const failedChat = spans.find((s: any) => s.parentSpanId === failedTurn.spanId)
  t.match(attributes(failedChat.attributes), { [ERROR_TYPE]: 'failed', [GEN_AI.finishReasons]: ['failed'] })

  const metrics = receiver.received['/v1/metrics']!
    .flatMap((body) => body.resourceMetrics).flatMap((r: any) => r.scopeMetrics).flatMap((s: any) => s.metrics)
  const metric = (name: string) => metrics.filter((m: any) => m.name === name).at(-1)
  const tokens = metric(GEN_AI_METRIC.tokenUsage)
  t.equal(tokens.unit, '{token}')
  const byType = Object.fromEntries(tokens.histogram.dataPoints.map((p: any) => [attributes(p.attributes)[GEN_AI.tokenType], p]))
  t.equal(Number(byType.input.count), 2, 'both calls')
  t.equal(byType.output.sum, ok.usage.completionTokens, 'the failed call produced none')
  t.match(attributes(byType.input.attributes), { [GEN_AI.operationName]: 'chat', [GEN_AI.providerName]: 'openai', [GEN_AI.requestModel]: 'gpt-test' })
  const duration = metric(GEN_AI_METRIC.operationDuration)
  t.equal(duration.unit, 's')
  t.same(duration.histogram.dataPoints.map((p: any) => attributes(p.attributes)[ERROR_TYPE]).sort(), ['failed', undefined].sort())
  t.equal(Number(metric(GEN_AI_METRIC.timeToFirstChunk).histogram.dataPoints[0].count), 1, 'only the call that streamed text')
})

t.test('/metrics gets the same GenAI histograms', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const { app, url, auth } = await startApp(t, { STORAGE: 'memory', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0', LLM_FALLBACK: 'none' })
  fake.enqueue({ kind: 'stream', chunks: ['Roar', '!'] }, { kind: 'status', status: 500 })
  const send = () => fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Hi' }),
  })
  const ok = await json(send())
  await send()
  await app.analytics.recorder.idle()
  await new Promise((resolve) => setImmediate(resolve))
  const text = await (await fetch(`${url}/metrics`)).text()
  const labels = 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-test",gen_ai_response_model="gpt-test"'
  const sample = (series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? NaN)
  t.equal(sample(`gen_ai_client_token_usage_count{${labels},gen_ai_token_type="input"}`), 2)
  t.equal(sample(`gen_ai_client_token_usage_sum{${labels},gen_ai_token_type="output"}`), ok.usage.completionTokens)
  t.equal(sample(`gen_ai_client_operation_duration_seconds_count{${labels},error_type=""}`), 1)
  t.equal(sample(`gen_ai_client_operation_duration_seconds_count{${labels},error_type="failed"}`), 1)
  t.equal(sample(`gen_ai_client_operation_time_to_first_chunk_seconds_count{${labels}}`), 1)
  t.match(text, /gen_ai_client_operation_duration_seconds_bucket\{le="0\.01",/, 'the advised buckets')
})

t.test('off by default: the OpenTelemetry SDK is never loaded', async (t) => {
  // A child process records every module it loads while an app is built, serves a turn and closes.
  const script = `
    import { registerHooks } from 'node:module'
    const loaded = []
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r } })
    const { buildApp } = await import(${JSON.stringify(new URL('../src/app.ts', import.meta.url).href)})
    const { loadConfig } = await import(${JSON.stringify(new URL('../src/config.ts', import.meta.url).href)})
    const app = await buildApp(loadConfig({ STORAGE: 'memory', LOG_LEVEL: 'silent', JWT_SECRET: 'x'.repeat(40), ...(process.env.ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.ENDPOINT } : {}) }))
    const res = await app.inject({ method: 'POST', url: '/convo_turn', headers: { authorization: 'Bearer ' + app.jwt.sign({ sub: 'a', role: 'user' }, { expiresIn: 60 }) }, payload: { animalId: 'lion', message: 'Hi' } })
    await app.close()
    console.log(JSON.stringify({ status: res.statusCode, sdk: loaded.filter((u) => /@opentelemetry\\/(sdk-|exporter-)/.test(u)).length }))
  `
  const run = async (endpoint?: string) => JSON.parse((await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    timeout: 60_000, env: { ...process.env, ENDPOINT: endpoint ?? '' },
  })).stdout)
  t.same(await run(), { status: 200, sdk: 0 })
  const on = await run('http://127.0.0.1:9')
  t.equal(on.status, 200)
  t.ok(on.sdk > 0, 'with an endpoint it is (the check can see it)')
})
