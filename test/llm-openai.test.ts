// OpenAiProvider through the real openai SDK against a real (fake) HTTP upstream.
import t from 'tap'
import { UpstreamError } from '../src/core/errors.ts'
import type { LlmChunk } from '../src/core/ports.ts'
import type { Turn } from '../src/core/types.ts'
import { OpenAiProvider, type OpenAiProviderOptions } from '../src/llm/openai.ts'
import { drain, lion, llmRequest } from './helpers/llm.ts'
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.ts'


function provider(fake: FakeOpenAI, options: Partial<OpenAiProviderOptions> = {}): OpenAiProvider {
  return new OpenAiProvider({
    apiKey: 'sk-test-key',
    baseURL: fake.url,
    model: 'gpt-test',
    temperature: 0.5,
    maxTokens: 123,
    timeoutMs: 5000,
    maxRetries: 2,
    retryBaseMs: 1,
    ...options,
  })
}



async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

t.test('streams deltas and the reported usage; sends the prompt, context and options', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stream', chunks: ['I eat ', 'meat, ', 'mostly zebras!'] })
  const history: Turn[] = [
    {
      turnId: 't1', sessionId: 's', userId: 'u', animalId: 'lion', userMessage: 'Hi Leo', reply: 'Hello friend!',
      status: 'complete', createdAt: '2025-01-01T00:00:00.000Z', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      latencyMs: 1, model: 'gpt-test',
    },
  ]

  const { deltas, end, error } = await drain(provider(fake).stream(llmRequest('What do you eat?', undefined, history)))
  t.equal(error, undefined)
  t.same(deltas, ['I eat ', 'meat, ', 'mostly zebras!'], 'one delta per upstream chunk, in order')

  t.equal(fake.requests.length, 1)
  const { body, headers, path } = fake.requests[0]
  t.equal(path, '/v1/chat/completions')
  t.equal(headers.authorization, 'Bearer sk-test-key')
  t.equal(body.model, 'gpt-test')
  t.equal(body.stream, true)
  t.same(body.stream_options, { include_usage: true }, 'usage is requested')
  t.equal(body.max_tokens, 123)
  t.equal(body.temperature, 0.5)
  t.equal(body.messages[0].role, 'system')
  t.match(body.messages[0].content, /You are Leo the lion/)
  t.match(body.messages[0].content, /first person/)
  t.same(body.messages.slice(1), [
    { role: 'user', content: 'Hi Leo' },
    { role: 'assistant', content: 'Hello friend!' },
    { role: 'user', content: 'What do you eat?' },
  ])

  const promptWords = body.messages.reduce((n: number, m: { content: string }) => n + m.content.split(/\s+/).filter(Boolean).length, 0)
  t.same(end, {
    type: 'end',
    usage: { promptTokens: promptWords, completionTokens: 3, totalTokens: promptWords + 3 },
    finishReason: 'stop',
    model: 'gpt-test',
  }, 'usage is the upstream count, not an estimate')
})

t.test('estimates usage when the upstream sends none; passes the finish reason on', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stream', chunks: ['Roar! ', 'I am out of words'], usage: false, finishReason: 'length' })
  const { end } = await drain(provider(fake).stream(llmRequest('Tell me a long story')))
  t.equal(end?.finishReason, 'length')
  t.equal(end?.usage.estimated, true)
  t.equal(end?.usage.completionTokens, Math.ceil('Roar! I am out of words'.length / 4))
  t.ok(end!.usage.promptTokens > 100, 'the prompt estimate counts the system prompt')
})

t.test('yields a delta as soon as it arrives, before the rest of the reply', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  // The second chunk never comes: the first can only be seen if it is passed on at once.
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['First words ', 'never sent'] })
  const iterator = provider(fake, { timeoutMs: 10_000 }).stream(llmRequest('Hello?'))[Symbol.asyncIterator]()
  const first = await iterator.next()
  t.same(first.value, { type: 'deltas', texts: ['First words '] })
  await iterator.return?.()
  await fake.waitForClientClose()
  t.pass('stopping the iteration closes the upstream request')
})

t.test('pieces that arrive together are passed on together, in order', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  // No delay: the fake writes every frame in one tick, so they arrive in one read.
  fake.enqueue({ kind: 'stream', chunks: ['One ', 'two ', 'three.'] })
  const chunks: LlmChunk[] = []
  for await (const chunk of provider(fake).stream(llmRequest('Count?'))) chunks.push(chunk)
  t.same(chunks[0], { type: 'deltas', texts: ['One ', 'two ', 'three.'] }, 'one batch of three pieces')
  t.match(chunks[1], { type: 'end', finishReason: 'stop' })
  t.equal(chunks.length, 2)
})

t.test('429 then success: retried, the visitor sees one reply', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 429 }, { kind: 'stream', chunks: ['Second ', 'time lucky'] })
  const { deltas, end, error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.equal(error, undefined)
  t.equal(fake.requests.length, 2, 'one retry')
  t.same(deltas, ['Second ', 'time lucky'])
  t.equal(end?.finishReason, 'stop')
})

t.test('500 three times with maxRetries 2: UpstreamError after exactly 3 requests', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 502 }, { kind: 'status', status: 503 }, { kind: 'stream', chunks: ['unused'] })
  const { deltas, error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.type(error, UpstreamError)
  t.equal((error as UpstreamError).rateLimited, false)
  t.equal((error as UpstreamError).statusCode, 502)
  t.equal(fake.requests.length, 3)
  t.same(deltas, [])
})

t.test('429 three times: UpstreamError marked rate limited', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 429 }, { kind: 'status', status: 429 }, { kind: 'status', status: 429 })
  const { error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.type(error, UpstreamError)
  t.equal((error as UpstreamError).rateLimited, true)
  t.equal((error as UpstreamError).statusCode, 503)
  t.equal((error as UpstreamError).code, 'upstream_rate_limited')
  t.equal(fake.requests.length, 3)
})

t.test('400 and 401 are not retried', async (t) => {
  for (const status of [400, 401]) {
    const fake = await startFakeOpenAI()
    t.teardown(fake.close)
    fake.enqueue({ kind: 'status', status }, { kind: 'stream', chunks: ['unused'] })
    const { error } = await drain(provider(fake).stream(llmRequest('Hi')))
    t.type(error, UpstreamError)
    t.match((error as Error).message, String(status))
    t.equal(fake.requests.length, 1, `${status}: one request`)
  }
})

t.test('upstream silent before the first token: the request is aborted and retried', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 0 }, { kind: 'stream', chunks: ['Sorry, ', 'I dozed off'] })
  const { deltas, error } = await drain(provider(fake, { timeoutMs: 150 }).stream(llmRequest('Hi')))
  t.equal(error, undefined)
  t.same(deltas, ['Sorry, ', 'I dozed off'])
  t.equal(fake.requests.length, 2, 'retried after the timeout')
  t.equal(fake.closedEarly(), 1, 'the stalled request was closed by the client')
})

t.test('upstream silent every time: "model timed out" once retries are spent', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 0 }, { kind: 'stall', afterChunks: 0 })
  const { error } = await drain(provider(fake, { timeoutMs: 100, maxRetries: 1 }).stream(llmRequest('Hi')))
  t.type(error, UpstreamError)
  t.equal((error as Error).message, 'model timed out')
  t.equal(fake.requests.length, 2)
  await fake.waitForClientClose(2)
})

t.test('upstream silent after the first token: UpstreamError after the deltas, no retry', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 2, chunks: ['We lions ', 'sleep a lot', ' never sent'] })
  const { deltas, error } = await drain(provider(fake, { timeoutMs: 150 }).stream(llmRequest('Do you sleep?')))
  t.same(deltas, ['We lions ', 'sleep a lot'], 'the deltas that came were passed on')
  t.type(error, UpstreamError)
  t.equal((error as Error).message, 'model timed out')
  t.equal(fake.requests.length, 1, 'a started reply is never restarted')
  await fake.waitForClientClose()
})

t.test('connection dropped mid-stream: UpstreamError after the deltas, no retry', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'drop', afterChunks: 1, chunks: ['Hello ', 'there'] }, { kind: 'stream', chunks: ['unused'] })
  const { deltas, error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.same(deltas, ['Hello '])
  t.type(error, UpstreamError)
  t.equal(fake.requests.length, 1)
})

t.test('a stream that ends without a finish reason is incomplete', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stream', chunks: ['Half a '], finishReason: null })
  const { deltas, end, error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.same(deltas, ['Half a '])
  t.equal(end, undefined)
  t.type(error, UpstreamError)
  t.equal((error as Error).message, 'the model stream ended early')
  t.equal(fake.requests.length, 1)
})

t.test('connection dropped before the first token: retried', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'drop', afterChunks: 0 }, { kind: 'stream', chunks: ['Back ', 'again'] })
  const { deltas, error } = await drain(provider(fake).stream(llmRequest('Hi')))
  t.equal(error, undefined)
  t.same(deltas, ['Back ', 'again'])
  t.equal(fake.requests.length, 2)
})

t.test('upstream unreachable: connection errors are retried, then UpstreamError', async (t) => {
  const fake = await startFakeOpenAI()
  await fake.close()
  const warnings: object[] = []
  const log = { debug() {}, info() {}, error() {}, warn: (obj: object) => void warnings.push(obj) }
  const { error } = await drain(provider(fake, { maxRetries: 1, log }).stream(llmRequest('Hi')))
  t.type(error, UpstreamError)
  t.equal((error as Error).message, 'could not reach the model')
  t.same(warnings, [{ model: 'gpt-test', retry: 1, reason: 'could not reach the model' }], 'one retry, logged')
})

t.test('the timeout bounds silences, not the whole reply', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  // Ten chunks 50 ms apart outlast a 300 ms timeout in total, but no silence comes near it.
  const chunks = Array.from({ length: 10 }, (_, i) => `word${i} `)
  fake.enqueue({ kind: 'stream', chunks, delayMs: 50 })
  const { deltas, error } = await drain(provider(fake, { timeoutMs: 300, maxRetries: 0 }).stream(llmRequest('Count!')))
  t.equal(error, undefined)
  t.same(deltas, chunks)
})

t.test('caller cancels mid-reply: AbortError at once, the upstream socket closes, no retry', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['I was saying ', 'something'] })
  const controller = new AbortController()
  const deltas: string[] = []
  let error: unknown
  try {
    for await (const chunk of provider(fake, { timeoutMs: 10_000 }).stream(llmRequest('Hi', controller.signal))) {
      if (chunk.type === 'deltas') deltas.push(...chunk.texts)
      controller.abort()
    }
  } catch (err) {
    error = err
  }
  t.same(deltas, ['I was saying '])
  t.equal((error as Error).name, 'AbortError')
  t.notOk(error instanceof UpstreamError, 'a cancel is not an upstream failure')
  await fake.waitForClientClose()
  t.equal(fake.requests.length, 1)
})

t.test('caller cancels while waiting for the first token', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stall', afterChunks: 0 })
  const controller = new AbortController()
  const result = drain(provider(fake, { timeoutMs: 10_000 }).stream(llmRequest('Hi', controller.signal)))
  await until(() => fake.requests.length === 1)
  controller.abort()
  const { error } = await result
  t.equal((error as Error).name, 'AbortError')
  await fake.waitForClientClose()
  t.equal(fake.requests.length, 1)
})

t.test('caller cancels during the backoff between attempts', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 503 })
  const controller = new AbortController()
  const result = drain(provider(fake, { retryBaseMs: 60_000 }).stream(llmRequest('Hi', controller.signal)))
  await until(() => fake.requests.length === 1)
  controller.abort()
  const { error } = await result
  t.equal((error as Error).name, 'AbortError')
  t.equal(fake.requests.length, 1, 'no attempt after the cancel')
})

t.test('an already cancelled request never reaches the upstream', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  const { error } = await drain(provider(fake).stream(llmRequest('Hi', AbortSignal.abort())))
  t.equal((error as Error).name, 'AbortError')
  t.equal(fake.requests.length, 0)
})

t.test('summarize: one non-streamed completion of the summary prompt', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 500 }, { kind: 'stream', chunks: ['The visitor asked Leo ', 'about food.  '] })
  const turns: Turn[] = [
    {
      turnId: 't1', sessionId: 's', userId: 'u', animalId: 'lion', userMessage: 'What do you eat?', reply: 'Meat!',
      status: 'complete', createdAt: '2025-01-01T00:00:00.000Z', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      latencyMs: 1, model: 'gpt-test',
    },
  ]
  const result = await provider(fake).summarize(lion, turns, new AbortController().signal)
  t.equal(result.summary, 'The visitor asked Leo about food.')
  t.equal(result.model, 'gpt-test')
  t.equal(result.usage.completionTokens, 2)
  t.notOk(result.usage.estimated)
  t.equal(fake.requests.length, 2, 'a 500 is retried')
  const { body } = fake.requests[1]
  t.notOk(body.stream)
  t.match(body.messages[0].content, /summarise a conversation/)
  t.match(body.messages[1].content, /Visitor: What do you eat\?\nLeo: Meat!/)
})

t.test('summarize: failures map like streaming ones', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'status', status: 429 }, { kind: 'status', status: 429 })
  const limited = await provider(fake, { maxRetries: 1 }).summarize(lion, [], new AbortController().signal).catch((err) => err)
  t.equal(limited.rateLimited, true)
  t.equal(fake.requests.length, 2)

  fake.enqueue({ kind: 'stall', afterChunks: 0 })
  const timedOut = await provider(fake, { maxRetries: 0, timeoutMs: 100 }).summarize(lion, [], new AbortController().signal).catch((err) => err)
  t.equal(timedOut.message, 'model timed out')
  await fake.waitForClientClose()

  fake.enqueue({ kind: 'stream', chunks: ['  '] })
  const empty = await provider(fake, { maxRetries: 0 }).summarize(lion, [], new AbortController().signal).catch((err) => err)
  t.type(empty, UpstreamError)
  t.equal(empty.message, 'the model returned an empty summary')

  const cancelled = await provider(fake).summarize(lion, [], AbortSignal.abort()).catch((err) => err)
  t.equal(cancelled.name, 'AbortError')
})
