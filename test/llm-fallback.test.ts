// FallbackProvider over a real OpenAiProvider and a fake upstream, and createLlmProvider's choice.
import t from 'tap'
import { loadConfig } from '../src/config.ts'
import { UpstreamError } from '../src/core/errors.ts'
import type { Turn } from '../src/core/types.ts'
import type { Log } from '../src/core/log.ts'
import { FallbackProvider } from '../src/llm/fallback.ts'
import { createLlmProvider } from '../src/llm/index.ts'
import { OfflineResponder } from '../src/llm/offline.ts'
import { OpenAiProvider } from '../src/llm/openai.ts'
import { drain, lion, llmRequest } from './helpers/llm.ts'
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.ts'


function recordingLog() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = []
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, lines }
}

function withFallback(fake: FakeOpenAI, log?: Log): FallbackProvider {
  const primary = new OpenAiProvider({
    apiKey: 'sk-test', baseURL: fake.url, model: 'gpt-test', temperature: 0.7, maxTokens: 100, timeoutMs: 5000, maxRetries: 2, retryBaseMs: 1,
  })
  return new FallbackProvider(primary, new OfflineResponder(), log)
}


t.test('upstream down before the first token: the offline responder answers and says so', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 })
  const { log, lines } = recordingLog()
  const provider = withFallback(fake, log)
  t.equal(provider.model, 'gpt-test', 'the primary model is announced up front')

  const { text, end, error } = await drain(provider.stream(llmRequest('What do you eat?')))
  t.equal(error, undefined)
  t.equal(fake.requests.length, 3, 'the primary spent its retries first')
  t.match(text, /I eat meat/)
  t.equal(end?.model, 'offline (fallback from gpt-test)')
  t.equal(end?.usage.estimated, true)
  t.match(lines, [{ level: 'warn', obj: { model: 'gpt-test', fallback: 'offline' } }], 'the fallback is logged')
})

t.test('upstream unreachable: the offline responder answers', async (t) => {
  const fake = await startFakeOpenAI()
  await fake.close()
  const { text, end } = await drain(withFallback(fake).stream(llmRequest('hello')))
  t.equal(text, lion.greeting)
  t.equal(end?.model, 'offline (fallback from gpt-test)')
})

t.test('upstream fine: its reply passes through untouched', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stream', chunks: ['Roar, ', 'hello!'] })
  const { deltas, end } = await drain(withFallback(fake).stream(llmRequest('hi')))
  t.same(deltas, ['Roar, ', 'hello!'])
  t.equal(end?.model, 'gpt-test')
})

t.test('failure after the first delta propagates: no offline words appended', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'drop', afterChunks: 1, chunks: ['I was about to ', 'say'] })
  const { deltas, end, error } = await drain(withFallback(fake).stream(llmRequest('What do you eat?')))
  t.same(deltas, ['I was about to '])
  t.equal(end, undefined)
  t.type(error, UpstreamError)
})

t.test('a cancel is never answered by the fallback', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 0 })
  const controller = new AbortController()
  const result = drain(withFallback(fake).stream(llmRequest('What do you eat?', controller.signal)))
  while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  controller.abort()
  const { deltas, error } = await result
  t.equal((error as Error).name, 'AbortError')
  t.same(deltas, [])
})

t.test('summaries fall back too', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  const turn: Turn = {
    turnId: 't1', sessionId: 's', userId: 'u', animalId: 'lion', userMessage: 'What do you eat?', reply: 'I eat meat, mostly zebras, wildebeest and antelopes.',
    status: 'complete', createdAt: '2025-01-01T00:00:00.000Z', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 1, model: 'gpt-test',
  }
  fake.enqueue({ kind: 'stream', chunks: ['A chat about food.'] })
  const fromModel = await withFallback(fake).summarize(lion, [turn], new AbortController().signal)
  t.same({ summary: fromModel.summary, model: fromModel.model }, { summary: 'A chat about food.', model: 'gpt-test' })

  fake.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 })
  const offline = await withFallback(fake).summarize(lion, [turn], new AbortController().signal)
  t.equal(offline.model, 'offline (fallback from gpt-test)')
  t.match(offline.summary, /asked Leo the lion 1 question, about food/)

  const cancelled = await withFallback(fake).summarize(lion, [turn], AbortSignal.abort()).catch((err) => err)
  t.equal(cancelled.name, 'AbortError')
})

t.test('createLlmProvider: offline without a key, upstream with one, never logs the key', async (t) => {
  const offline = recordingLog()
  const noKey = createLlmProvider(loadConfig({}), offline.log)
  t.type(noKey, OfflineResponder)
  t.equal(noKey.model, 'offline')
  t.match(offline.lines, [{ level: 'info', obj: { provider: 'offline' } }])

  const secret = 'sk-very-secret-key-123'
  const upstream = recordingLog()
  const withKey = createLlmProvider(
    loadConfig({ OPENAI_API_KEY: secret, OPENAI_BASE_URL: 'http://user:pw@127.0.0.1:9/v1', OPENAI_MODEL: 'gpt-x' }),
    upstream.log,
  )
  t.type(withKey, FallbackProvider, 'backed by the offline responder by default')
  t.equal(withKey.model, 'gpt-x')
  t.match(upstream.lines, [{ level: 'info', obj: { provider: 'openai', model: 'gpt-x', baseURL: 'http://127.0.0.1:9/v1', fallback: 'offline' } }])
  t.notMatch(JSON.stringify(upstream.lines), /very-secret|pw@/, 'neither the key nor URL credentials are logged')

  const bare = createLlmProvider(loadConfig({ OPENAI_API_KEY: secret, LLM_FALLBACK: 'none' }), recordingLog().log)
  t.type(bare, OpenAiProvider)
})
