// The OpenAI encoder on its own, fed event sequences the engine produces in cases the fake
// upstream cannot trigger: a safety `replace` after text was shown, a safety support/redirect, a
// turn replayed from storage (no message events), an error after text. Written to a real HTTP
// response and read back with fetch; every chunk checked against the strict chunk schema.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { Compile } from 'typebox/compile'
import { ChatCompletion, ChatCompletionChunk } from '../schemas/openai.ts'
import { createEvent, type EventPayloads, type EventType, type TurnEvent } from '../src/core/events.ts'
import type { StartedTurnStream } from '../src/core/turns.ts'
import { Heartbeats } from '../src/streaming/heartbeats.ts'
import { turnResult } from '../src/streaming/json.ts'
import { chatCompletion, streamChatCompletion } from '../src/streaming/openai-chunks.ts'

const turnId = 'turn-1'
const createdAt = '2026-05-01T10:00:00.000Z'
const usage = { promptTokens: 10, completionTokens: 4, totalTokens: 14 }
type Step = { [K in EventType]: [K, EventPayloads[K]] }[EventType]

/** A turn whose events are already in its log: attach replays them, as the hub does. */
function turnOf(steps: Step[]): StartedTurnStream {
  const events: TurnEvent[] = steps.map(([type, data], seq) => createEvent(turnId, seq, type, data as never))
  return {
    turnId, sessionId: 'session-1', afterSeq: -1,
    attach: async (listener) => {
      for (const event of events) listener(event)
      return { close() {}, done: true }
    },
  }
}
const metadata: Step = ['metadata', { sessionId: 'session-1', turnId, animalId: 'lion', animalName: 'Leo', model: 'm', createdAt }]
const complete = (reply: string, finishReason: string): Step => ['complete', { reply, usage, latencyMs: 5, finishReason, model: 'm' }]
const storage: Step = ['storage', { stored: true, sessionId: 'session-1', turnId }]

const heartbeats = new Heartbeats(60_000)
t.teardown(() => heartbeats.close())
let current: StartedTurnStream
const server = createServer((_req, res: ServerResponse) => {
  void streamChatCompletion(res, current, { heartbeats, maxBufferedBytes: 1 << 20, includeUsage: true, headers: {}, onClientGone() {} })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => server.close())
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const isChunk = Compile(ChatCompletionChunk)
async function frames(steps: Step[]): Promise<string[]> {
  current = turnOf(steps)
  const text = await (await fetch(url)).text()
  return text.split('\n\n').filter(Boolean).map((block) => block.replace(/^data: /, ''))
}
const chunksOf = (data: string[]) => data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d))
const contents = (chunks: any[]) => chunks.flatMap((c) => c.choices).map((c: any) => c.delta.content).filter((c: unknown) => c !== undefined)

t.test('a replace after text was shown: the safe reply follows, the answer ends with content_filter', async (t) => {
  const steps: Step[] = [
    metadata, ['typing', { state: 'start' }], ['message', { delta: 'Some bad', index: 0 }],
    ['replace', { reply: 'Let us talk about lions!', reason: 'violence' }], ['typing', { state: 'stop' }],
    complete('Let us talk about lions!', 'content_filter'), storage,
  ]
  const data = await frames(steps)
  const chunks = chunksOf(data)
  t.ok(chunks.every((c) => isChunk.Check(c)), 'every chunk has the strict shape')
  t.same(contents(chunks), ['', 'Some bad', '\n\nLet us talk about lions!'], 'a chunk cannot be taken back: the safe reply follows')
  t.equal(chunks.filter((c) => c.choices.length).at(-1).choices[0].finish_reason, 'content_filter')
  t.equal(data.at(-1), '[DONE]')

  const completion = chatCompletion(await turnResult(turnOf(steps)))
  t.ok(Compile(ChatCompletion).Check(completion))
  t.match(completion, { id: `chatcmpl-${turnId}`, created: Date.parse(createdAt) / 1000, model: 'lion', choices: [{ message: { content: 'Let us talk about lions!' }, finish_reason: 'content_filter' }] }, 'not streamed: only the safe reply')
})

t.test('a safety support or redirect is a normal answer (stop)', async (t) => {
  const steps: Step[] = [metadata, ['message', { delta: 'Please find a grown-up you trust.', index: 0 }], complete('Please find a grown-up you trust.', 'safety'), storage]
  const chunks = chunksOf(await frames(steps))
  t.equal(chunks.filter((c) => c.choices.length).at(-1).choices[0].finish_reason, 'stop')
  t.equal(chatCompletion(await turnResult(turnOf(steps))).choices[0].finish_reason, 'stop')
})

t.test('a turn replayed from storage (no message events) still carries its whole reply', async (t) => {
  const chunks = chunksOf(await frames([metadata, complete('Hello again!', 'stop'), storage]))
  t.ok(chunks.every((c) => isChunk.Check(c)))
  t.same(contents(chunks), ['', 'Hello again!'])
  t.same(chunks.at(-1), { id: `chatcmpl-${turnId}`, object: 'chat.completion.chunk', created: Date.parse(createdAt) / 1000, model: 'lion', choices: [], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } }, 'the usage chunk')
})

t.test('an error after text ends the stream with an OpenAI error frame and no [DONE]', async (t) => {
  const data = await frames([metadata, ['message', { delta: 'Roar', index: 0 }], ['error', { code: 'storage_failed', message: 'The reply could not be saved', retryable: true }]])
  t.not(data.at(-1), '[DONE]')
  t.same(JSON.parse(data.at(-1)!), { error: { message: 'The reply could not be saved', type: 'server_error', code: 'storage_failed', param: null } })
})
