// SseJsonParser: the model's SSE bytes to parsed chunks, whatever the network's chunk boundaries.
import t from 'tap'
import { UpstreamError } from '../src/core/errors.ts'
import { SseJsonParser } from '../src/llm/sse-lines.ts'

const bytes = (text: string) => new TextEncoder().encode(text)
const chunk = (content: string) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })
const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`

/** Feeds the stream split at the given byte offsets; returns every payload and the parser. */
function parse(stream: Uint8Array, cuts: number[]): { events: unknown[]; parser: SseJsonParser } {
  const parser = new SseJsonParser()
  const events: unknown[] = []
  let start = 0
  for (const cut of [...cuts, stream.length]) {
    events.push(...parser.feed(stream.subarray(start, cut)))
    start = cut
  }
  events.push(...parser.end())
  return { events, parser }
}

const unicode = ['Rrrroar! 🦁', 'Grüße aus dem Zoo', '象は覚えている', 'plain']
const sample = bytes(`: keep-alive\n\n${unicode.map((text) => frame(chunk(text))).join('')}data: [DONE]\n\n`)
const expected = unicode.map(chunk)

t.test('one chunk: every event in order, comments skipped, [DONE] ends it', async (t) => {
  const { events, parser } = parse(sample, [])
  t.same(events, expected)
  t.ok(parser.done)
})

t.test('split at every byte offset, and byte by byte: the same events', async (t) => {
  for (let cut = 1; cut < sample.length; cut++) {
    const { events } = parse(sample, [cut])
    if (JSON.stringify(events) !== JSON.stringify(expected)) t.fail(`split at byte ${cut}`)
  }
  t.same(parse(sample, Array.from({ length: sample.length - 1 }, (_, i) => i + 1)).events, expected, 'byte by byte')
})

t.test('a multi-byte character split across chunks is decoded whole', async (t) => {
  const stream = bytes(frame(chunk('🦁')))
  const lion = stream.indexOf(0xf0) // the emoji's first byte
  for (const cut of [lion + 1, lion + 2, lion + 3]) {
    t.same(parse(stream, [cut]).events, [chunk('🦁')], `split after byte ${cut - lion} of 4`)
  }
})

t.test('CRLF and lone CR line endings, a CRLF split between chunks', async (t) => {
  const crlf = bytes(`data: {"a":1}\r\n\r\ndata: {"a":2}\r\n\r\ndata: [DONE]\r\n\r\n`)
  t.same(parse(crlf, []).events, [{ a: 1 }, { a: 2 }])
  t.same(parse(crlf, [crlf.indexOf(13) + 1]).events, [{ a: 1 }, { a: 2 }], 'split between \\r and \\n')
  t.same(parse(bytes(`data: {"a":1}\r\rdata: {"a":2}\r\r`), []).events, [{ a: 1 }, { a: 2 }], 'lone CR')
})

t.test('multi-line data is joined with \\n; no space after the colon; unknown fields ignored', async (t) => {
  t.same(parse(bytes('id: 7\nretry: 10\ndata: {"a":\ndata:  1}\n\nfoo: bar\ndata:{"b":2}\n\n'), []).events, [{ a: 1 }, { b: 2 }])
})

t.test('after [DONE] nothing more is returned; a last event without its blank line still counts', async (t) => {
  const after = parse(bytes(`${frame({ a: 1 })}data: [DONE]\n\n${frame({ a: 2 })}`), [])
  t.same(after.events, [{ a: 1 }])
  t.ok(after.parser.done)
  const unterminated = parse(bytes(`${frame({ a: 1 })}data: {"a":2}`), [])
  t.same(unterminated.events, [{ a: 1 }, { a: 2 }])
  t.notOk(unterminated.parser.done, 'no [DONE]: the caller decides whether the stream ended early')
})

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

t.test('a malformed JSON line is an UpstreamError', async (t) => {
  const parser = new SseJsonParser()
  t.same(parser.feed(bytes(frame({ a: 1 }))), [{ a: 1 }])
  const err = thrown(() => parser.feed(bytes('data: {"a":\n\n')))
  t.ok(err instanceof UpstreamError, 'an UpstreamError (the provider retries it before the first token)')
  t.match(err, { message: /malformed/ })
})

t.test('an error event or an error payload mid-stream is an UpstreamError', async (t) => {
  const payload = { error: { message: 'overloaded', type: 'server_error' } }
  const err = thrown(() => new SseJsonParser().feed(bytes(frame(payload))))
  t.ok(err instanceof UpstreamError)
  t.match(err, { message: /overloaded/ })
  t.ok(thrown(() => new SseJsonParser().feed(bytes(`event: error\ndata: {"message":"x"}\n\n`))) instanceof UpstreamError, 'event: error')
})

t.test('a chunk that completes no event returns nothing', async (t) => {
  const parser = new SseJsonParser()
  t.same(parser.feed(bytes('data: {"a"')), [])
  t.same(parser.feed(bytes(':1}\n')), [])
  t.same(parser.feed(bytes('\n')), [{ a: 1 }])
})
