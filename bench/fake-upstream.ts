// A fake OpenAI-compatible model for the benchmark, run in its own process so its CPU is not the
// gateway's. The last user message says how to answer, so the gateway and a direct client get
// exactly the same stream:
//   "bench timed chunks=20 delay=25"  one role frame, then 20 content chunks, each `delay` ms
//                                     after the previous (the first `delay` ms after the request)
//   "bench burst chunks=100"          the whole response at once (pre-serialised: the upstream
//                                     costs next to nothing, so the relay is what is measured)
//   "bench hold"                      the role frame, then silence until the client hangs up
// Every chunk is a 5-character word. Non-streamed requests get the joined text as one completion.
// Prints `ready <url>` on stdout when listening.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface UpstreamPlan {
  mode: 'timed' | 'burst' | 'hold'
  chunks: number
  delayMs: number
}

/** The message that asks the fake upstream for `plan`. */
export function planMessage(plan: UpstreamPlan): string {
  return `bench ${plan.mode} chunks=${plan.chunks} delay=${plan.delayMs}`
}

export function parsePlan(message: string): UpstreamPlan {
  const mode = /^bench (timed|burst|hold)/.exec(message)?.[1] as UpstreamPlan['mode'] | undefined
  const number = (name: string, fallback: number) => Number(new RegExp(`${name}=(\\d+)`).exec(message)?.[1] ?? fallback)
  return { mode: mode ?? 'burst', chunks: number('chunks', 10), delayMs: number('delay', 0) }
}

const WORD = 'word '
const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`
const chunkFrame = (delta: Record<string, string>, finishReason: string | null = null) =>
  frame({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: 'bench-model', choices: [{ index: 0, delta, finish_reason: finishReason }] })

const ROLE_FRAME = chunkFrame({ role: 'assistant', content: '' })
const CONTENT_FRAME = chunkFrame({ content: WORD })
const endFrames = (chunks: number) =>
  chunkFrame({}, 'stop') +
  frame({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: 'bench-model', choices: [], usage: { prompt_tokens: 10, completion_tokens: chunks, total_tokens: 10 + chunks } }) +
  'data: [DONE]\n\n'

const burstBodies = new Map<number, Buffer>()
function burstBody(chunks: number): Buffer {
  let body = burstBodies.get(chunks)
  if (!body) {
    body = Buffer.from(ROLE_FRAME + CONTENT_FRAME.repeat(chunks) + endFrames(chunks))
    burstBodies.set(chunks, body)
  }
  return body
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = ''
  for await (const part of req) raw += part
  const body = JSON.parse(raw) as { stream?: boolean; messages?: Array<{ role: string; content: string }> }
  const plan = parsePlan(body.messages?.findLast((m) => m.role === 'user')?.content ?? '')

  if (!body.stream) {
    const completion = {
      id: 'chatcmpl-bench', object: 'chat.completion', created: 0, model: 'bench-model',
      choices: [{ index: 0, message: { role: 'assistant', content: WORD.repeat(plan.chunks) }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: plan.chunks, total_tokens: 10 + plan.chunks },
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion))
    return
  }
  res.socket?.setNoDelay(true)
  if (plan.mode === 'burst') {
    res.writeHead(200, SSE_HEADERS).end(burstBody(plan.chunks))
    return
  }
  res.writeHead(200, SSE_HEADERS)
  res.write(ROLE_FRAME)
  if (plan.mode === 'hold') return // silent until the client hangs up
  let sent = 0
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer)
    res.write(CONTENT_FRAME)
    if (++sent === plan.chunks) {
      clearInterval(timer)
      res.end(endFrames(plan.chunks))
    }
  }, plan.delayMs)
  res.on('close', () => clearInterval(timer))
}

export async function startFakeUpstream(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end()
      return
    }
    answer(req, res).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', 4096, resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}/v1`,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

if (import.meta.main) {
  const upstream = await startFakeUpstream()
  console.log(`ready ${upstream.url}`)
}
