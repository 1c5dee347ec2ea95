// UpstreamCall: one model request's silence timer and abort, directly and through the provider.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildMessages } from '../src/core/prompt.ts'
import type { Animal } from '../src/core/types.ts'
import { OpenAiProvider } from '../src/llm/openai.ts'
import { UpstreamCall } from '../src/llm/upstream-call.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }
import { startFakeOpenAI } from './helpers/fake-openai.ts'

const lion = (seed as Animal[]).find((a) => a.animalId === 'lion')!

t.test('silence longer than the timeout aborts the call as timed out', async (t) => {
  const call = new UpstreamCall(new AbortController().signal, 50)
  t.teardown(() => call.close())
  await sleep(200)
  t.ok(call.signal.aborted)
  t.ok(call.timedOut)
  t.equal((call.signal.reason as Error).message, 'model timed out')
})

t.test('a pause longer than the timeout does not time out; silence after the restart does', async (t) => {
  const call = new UpstreamCall(new AbortController().signal, 50)
  t.teardown(() => call.close())
  call.pauseTimer()
  await sleep(200)
  t.notOk(call.signal.aborted, 'the consumer had the turn: no timeout')
  call.restartTimer()
  t.notOk(call.signal.aborted)
  await sleep(200)
  t.ok(call.timedOut, 'the upstream was silent again after the restart')
})

t.test('close() aborts a request still open, not one whose response was read to its end', async (t) => {
  const open = new UpstreamCall(new AbortController().signal, 1000)
  open.close()
  t.ok(open.signal.aborted)
  t.notOk(open.timedOut)

  const read = new UpstreamCall(new AbortController().signal, 50)
  read.responseRead()
  read.close()
  await sleep(150)
  t.notOk(read.signal.aborted, 'nothing left to abort, and the timer is gone')
})

t.test('the caller aborting aborts the call, and it is not a timeout', async (t) => {
  const caller = new AbortController()
  const call = new UpstreamCall(caller.signal, 1000)
  t.teardown(() => call.close())
  caller.abort()
  t.ok(call.signal.aborted)
  t.notOk(call.timedOut)
})

t.test('a consumer slower than the timeout is not timed out: only the upstream\'s silence counts', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  fake.enqueue({ kind: 'stream', chunks: ['We ', 'lions ', 'nap.'] })
  const provider = new OpenAiProvider({
    apiKey: 'sk-test', baseURL: fake.url, model: 'gpt-test', temperature: 0.5, maxTokens: 50, timeoutMs: 300, maxRetries: 0,
  })
  const question = 'Do you nap?'
  const deltas: string[] = []
  let ended = false
  for await (const chunk of provider.stream({ animal: lion, messages: buildMessages(lion, [], question, 10), question, signal: new AbortController().signal })) {
    if (chunk.type === 'deltas') {
      deltas.push(...chunk.texts)
      await sleep(700) // the consumer (a slow client) holds the turn well past the timeout
    } else {
      ended = true
    }
  }
  t.same(deltas, ['We ', 'lions ', 'nap.'])
  t.ok(ended, 'the stream ended normally')
  t.equal(fake.requests.length, 1)
})
