/**
 * A fake OpenAI-compatible model server for tests: a real HTTP server on 127.0.0.1 (random port)
 * that answers POST /v1/chat/completions (and /chat/completions) like the real API, so the real
 * `openai` SDK and the real sockets are exercised.
 *
 *   const fake = await startFakeOpenAI()
 *   t.teardown(fake.close)
 *   // point the app or the SDK at it: OPENAI_BASE_URL=fake.url, OPENAI_API_KEY=anything
 *   fake.enqueue({ kind: 'status', status: 429 }, { kind: 'stream', chunks: ['Hi', ' there!'] })
 *   ...
 *   fake.requests.length            // how many requests arrived
 *   fake.requests[0].body.messages  // what was sent (parsed JSON body); .headers too
 *   await fake.waitForClientClose() // resolves once a client hung up before its response ended
 *
 * Each request takes the next queued behaviour; with the queue empty it gets the default one
 * (an in-character echo of the question, streamed a word at a time). Behaviours:
 *   { kind: 'stream', chunks, delayMs?, usage?, finishReason? }
 *       streams `chunks` as chat.completion.chunk SSE frames, waiting `delayMs` before each one,
 *       then a frame with finish_reason (default 'stop'), then (when the request asked with
 *       stream_options.include_usage and `usage` is not false) a usage frame, then [DONE].
 *       finishReason null leaves that frame out (a stream cut short by a proxy, yet ended cleanly).
 *       A non-streamed request gets one chat.completion with the chunks joined.
 *   { kind: 'status', status, body? }   answers that HTTP status with an OpenAI-style error body.
 *   { kind: 'stall', afterChunks, chunks? }  sends the first `afterChunks` chunks, then goes silent
 *       forever (until the client hangs up). afterChunks 0: headers and the role frame, no text.
 *   { kind: 'drop', afterChunks, chunks? }   sends `afterChunks` chunks, then destroys the socket.
 *
 * Usage reported: prompt_tokens = number of words in all messages, completion_tokens = number of
 * chunks; so tests can tell real usage from an estimate.
 *
 * POST /v1/moderations answers like OpenAI's moderation endpoint: nothing flagged unless
 * setModeration({ flagged: ['self-harm/intent'], match?: /only these inputs/ }); { status } answers
 * an error, { delayMs } is slow.
 * fake.moderationRequests holds what it was asked.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeBehaviour =
  | { kind: 'stream'; chunks: string[]; delayMs?: number; usage?: boolean; finishReason?: string | null }
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'stall'; afterChunks: number; chunks?: string[] }
  | { kind: 'drop'; afterChunks: number; chunks?: string[] }

export interface FakeRequest {
  path: string
  headers: IncomingMessage['headers']
  /** The parsed JSON body, as the client sent it. */
  body: any
}

export interface FakeModeration {
  /** Moderation categories to flag, e.g. 'self-harm/intent'. */
  flagged?: string[]
  /** Answer this HTTP status instead. */
  status?: number
  /** Wait this long before answering. */
  delayMs?: number
  /** Flag only inputs that match (default: every input). */
  match?: RegExp
}

export interface FakeOpenAI {
  /** Base URL including /v1, for OPENAI_BASE_URL or `new OpenAI({ baseURL })`. */
  url: string
  /** Every chat completion request received, in order. */
  requests: FakeRequest[]
  /** Every moderation request received, in order. */
  moderationRequests: FakeRequest[]
  setModeration(behaviour: FakeModeration): void
  enqueue(...behaviours: FakeBehaviour[]): void
  /** How many clients hung up before their response was complete. */
  closedEarly(): number
  /** Resolves once `count` clients in all have hung up early (default 1). */
  waitForClientClose(count?: number): Promise<void>
  close(): Promise<void>
}

const DEFAULT_CHUNKS_TEXT = 'Hello! I am {who}. You asked: "{question}" What a great question!'

interface Message {
  role: string
  content: string
}

function defaultBehaviour(messages: Message[]): { kind: 'stream'; chunks: string[] } {
  const system = messages.find((m) => m.role === 'system')?.content ?? ''
  const who = /^You are ([^,.\n]+)/.exec(system)?.[1] ?? 'a zoo animal'
  const question = messages.at(-1)?.content ?? ''
  const text = DEFAULT_CHUNKS_TEXT.replace('{who}', who).replace('{question}', question)
  return { kind: 'stream', chunks: text.match(/\S+\s*/g) ?? [text] }
}

function countWords(messages: Message[]): number {
  return messages.reduce((sum, m) => sum + (String(m.content).match(/\S+/g)?.length ?? 0), 0)
}

function errorBody(status: number): unknown {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error'
  return { error: { message: `fake upstream answered ${status}`, type, param: null, code: null } }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm',
  'self-harm/instructions', 'self-harm/intent', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
]

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeBehaviour[] = []
  const requests: FakeRequest[] = []
  const moderationRequests: FakeRequest[] = []
  let moderation: FakeModeration = {}
  let closedEarly = 0
  let closing = false
  const waiters: Array<{ count: number; resolve: () => void }> = []
  let sequence = 0

  function noteEarlyClose(): void {
    closedEarly++
    for (const waiter of [...waiters]) {
      if (closedEarly >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = ''
    for await (const part of req) raw += part
    let body: any
    try {
      body = JSON.parse(raw)
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(400)))
      return
    }
    requests.push({ path: req.url ?? '', headers: req.headers, body })

    let serverDropped = false
    res.on('close', () => {
      if (!res.writableFinished && !serverDropped && !closing) noteEarlyClose()
    })

    const messages: Message[] = Array.isArray(body.messages) ? body.messages : []
    const behaviour: FakeBehaviour = queue.shift() ?? defaultBehaviour(messages)
    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(behaviour.body ?? errorBody(behaviour.status)))
      return
    }

    const id = `chatcmpl-fake-${++sequence}`
    const created = Math.floor(Date.now() / 1000)
    const model = String(body.model ?? 'fake-model')
    const chunks = behaviour.chunks ?? defaultBehaviour(messages).chunks
    const usage = { prompt_tokens: countWords(messages), completion_tokens: chunks.length, total_tokens: countWords(messages) + chunks.length }
    const stopAfter = behaviour.kind === 'stream' ? chunks.length : Math.min(behaviour.afterChunks, chunks.length)
    const delayMs = behaviour.kind === 'stream' ? (behaviour.delayMs ?? 0) : 0
    const finishReason = behaviour.kind === 'stream' && behaviour.finishReason !== undefined ? behaviour.finishReason : 'stop'

    if (!body.stream) {
      if (behaviour.kind === 'stall') return
      if (behaviour.kind === 'drop') {
        serverDropped = true
        res.socket?.destroy()
        return
      }
      if (delayMs) await wait(delayMs)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: chunks.join('') }, finish_reason: finishReason, logprobs: null }],
          usage,
        }),
      )
      return
    }

    const includeUsage = Boolean(body.stream_options?.include_usage)
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) => {
      const data = { id, object: 'chat.completion.chunk', created, model, choices, ...(includeUsage ? { usage: null } : {}), ...extra }
      res.write(`data: ${JSON.stringify(data)}\n\n`)
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])
    for (const content of chunks.slice(0, stopAfter)) {
      if (delayMs) await wait(delayMs)
      if (res.destroyed) return
      frame([{ index: 0, delta: { content }, finish_reason: null }])
    }
    if (behaviour.kind === 'stall') return
    if (behaviour.kind === 'drop') {
      serverDropped = true
      // Let the frames already written reach the client before the connection dies.
      setTimeout(() => res.socket?.destroy(), 20)
      return
    }
    if (finishReason !== null) frame([{ index: 0, delta: {}, finish_reason: finishReason }])
    if (includeUsage && behaviour.usage !== false) frame([], { usage })
    res.end('data: [DONE]\n\n')
  }

  async function moderate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = ''
    for await (const part of req) raw += part
    const body = JSON.parse(raw)
    moderationRequests.push({ path: req.url ?? '', headers: req.headers, body })
    const { status, delayMs, match } = moderation
    const flagged = !match || match.test(String(body.input)) ? (moderation.flagged ?? []) : []
    if (delayMs) await wait(delayMs)
    if (res.destroyed) return
    if (status) {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(status)))
      return
    }
    const categories = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, flagged.includes(name)]))
    const scores = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, flagged.includes(name) ? 0.99 : 0.001]))
    const types = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, ['text']]))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      id: `modr-fake-${++sequence}`, model: body.model ?? 'omni-moderation-latest',
      results: [{ flagged: flagged.length > 0, categories, category_scores: scores, category_applied_input_types: types }],
    }))
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (req.method === 'POST' && (path === '/v1/moderations' || path === '/moderations')) {
      moderate(req, res).catch(() => res.destroy())
      return
    }
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }))
      return
    }
    answer(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    moderationRequests,
    setModeration: (behaviour) => void (moderation = behaviour),
    enqueue: (...behaviours) => void queue.push(...behaviours),
    closedEarly: () => closedEarly,
    waitForClientClose: (count = 1) =>
      closedEarly >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      closing = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
