// The pure parts of analytics: bucket percentiles, the visitor sketch, date ranges, question
// scrubbing and what one turn adds to its day.
import t from 'tap'
import { COUNTER, turnIncrement } from '../src/analytics/counters.ts'
import { BUCKET_BOUNDS_MS, BUCKET_COUNT, bucketOf, percentile } from '../src/analytics/histogram.ts'
import { questionForAnalytics } from '../src/analytics/question.ts'
import { daysOf, parseRange } from '../src/analytics/range.ts'
import { estimateDistinct, sketchElement } from '../src/analytics/sketch.ts'
import { AppError } from '../src/core/errors.ts'
import type { Turn } from '../src/core/types.ts'

t.test('buckets and percentiles read back from them', async (t) => {
  t.equal(bucketOf(0), 0)
  t.equal(bucketOf(50), 0, 'bounds are inclusive')
  t.equal(bucketOf(51), 1)
  t.equal(bucketOf(30_000), BUCKET_BOUNDS_MS.length - 1)
  t.equal(bucketOf(45_000), BUCKET_COUNT - 1, 'slower than every bound: the open bucket')

  const counts = new Array(BUCKET_COUNT).fill(0)
  t.equal(percentile(counts, 0.5), null, 'nothing counted')
  // 100 turns: 50 in (0, 50], 40 in (250, 500], 10 in (1000, 1500].
  counts[0] = 50
  counts[bucketOf(400)] = 40
  counts[bucketOf(1200)] = 10
  t.equal(percentile(counts, 0.5), 50, 'the 50th of 100 is the top of the first bucket')
  t.equal(percentile(counts, 0.7), 375, 'interpolated: 20 of the 40 in (250, 500]')
  t.equal(percentile(counts, 0.95), 1250, 'half-way into (1000, 1500]')
  counts[BUCKET_COUNT - 1] = 1000
  t.equal(percentile(counts, 0.95), 30_000, 'in the open bucket: the last bound')
})

t.test('the visitor sketch: near exact when small, within its error when large, mergeable', async (t) => {
  t.equal(estimateDistinct([]), 0)
  t.equal(sketchElement('alice'), sketchElement('alice'), 'the same visitor, the same element')
  t.equal(estimateDistinct([sketchElement('alice'), sketchElement('alice')]), 1, 'a visitor counts once however often they come')

  const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
  const small = estimateDistinct(ids(20, 'kid').map(sketchElement))
  t.ok(Math.abs(small - 20) <= 2, `20 visitors estimated as ${small}`)
  for (const n of [1000, 20_000]) {
    const estimate = estimateDistinct(ids(n, `v${n}`).map(sketchElement))
    // 13% standard error: 3 of them is the bound a correct HyperLogLog passes essentially always.
    t.ok(Math.abs(estimate - n) / n < 0.39, `${n} visitors estimated as ${estimate}`)
  }
  const monday = ids(300, 'a').map(sketchElement)
  const tuesday = [...ids(300, 'a').slice(0, 150), ...ids(300, 'b')].map(sketchElement)
  const both = estimateDistinct([...monday, ...tuesday])
  t.ok(Math.abs(both - 600) / 600 < 0.39, `a union counts the 150 who came twice once: ${both} for 600`)
  t.ok(new Set(ids(5000, 'x').map(sketchElement)).size <= 64 * 27, 'a sketch never has more than registers x ranks elements')
})

t.test('date ranges: defaults, limits, and a 400 naming the field', async (t) => {
  t.same(parseRange({}, '2030-03-10'), { from: '2030-03-04', to: '2030-03-10' }, 'the last 7 days up to today')
  t.same(parseRange({ to: '2030-01-03' }, '2030-03-10'), { from: '2029-12-28', to: '2030-01-03' })
  t.same(parseRange({ from: '2028-02-28', to: '2028-03-01' }, '2030-03-10'), { from: '2028-02-28', to: '2028-03-01' })
  t.same(daysOf({ from: '2028-02-28', to: '2028-03-01' }), ['2028-02-28', '2028-02-29', '2028-03-01'], 'leap day included')
  t.same(parseRange({ from: '2030-01-01', to: '2031-01-01' }, '2030-03-10').to, '2031-01-01', '366 days are allowed')
  const refused = (query: { from?: string; to?: string }, field: RegExp) => {
    try {
      parseRange(query, '2030-03-10')
      t.fail(`${JSON.stringify(query)} was accepted`)
    } catch (err) {
      t.ok(err instanceof AppError && err.statusCode === 400, `${JSON.stringify(query)}: 400`)
      t.match((err as Error).message, field)
    }
  }
  refused({ from: '2030-02-30' }, /^querystring\.from must be a calendar date/)
  refused({ to: '2030-13-01' }, /^querystring\.to must be a calendar date/)
  refused({ from: 'yesterday' }, /^querystring\.from/)
  refused({ from: '2030-03-05', to: '2030-03-01' }, /^querystring\.from .* must not be after to/)
  refused({ from: '2030-01-01', to: '2031-01-02' }, /^querystring\.to: a range may span at most 366 days/)
})

t.test('unanswered questions are kept scrubbed, lower-cased and short', async (t) => {
  t.equal(questionForAnalytics('  Can you   DRIVE a car? '), 'can you drive a car?')
  t.equal(questionForAnalytics('my email is emma.s@example.com, phone 555-0134'), 'my email is [email], phone [phone]')
  t.equal(questionForAnalytics('my name is Emma Smith, can you swim'), 'my name is [name], can you swim', "the safety layer's scrubber")
  t.equal(questionForAnalytics('is bus 42 yours'), 'is bus [number] yours', 'digit runs it leaves go too')
  t.equal(questionForAnalytics('see www.example.com/x now'), 'see [link] now')
  t.equal(questionForAnalytics('I am 7'), 'i am [age]')
  t.equal(questionForAnalytics('x'.repeat(200))!.length, 80)
  t.equal(questionForAnalytics('   '), undefined)
  t.equal(questionForAnalytics('Tell Emma', (text) => text.replace('Emma', '[name]')), 'tell [name]', 'the scrubber is a seam')
})

t.test('what one turn adds to its day', async (t) => {
  const turn: Turn = {
    turnId: 't1', sessionId: 's1', userId: 'alice', animalId: 'lion', userMessage: 'Can you drive?', reply: '…', status: 'complete',
    createdAt: '2030-03-01T10:00:00.000Z', usage: { promptTokens: 120, completionTokens: 30, totalTokens: 150 }, latencyMs: 900, firstTokenMs: 80, model: 'm',
    safety: { action: 'allow', flags: [{ category: 'personal_info', severity: 'low', source: 'input' }, { category: 'not-a-category' as never, severity: 'low', source: 'output' }] },
  }
  const { counters, sketch } = turnIncrement(turn, {
    newSession: true, insights: { topics: ['food', 'food', 'home'], unanswered: true }, sentiment: 'neutral', unansweredQuestion: 'can you drive?',
  })
  t.same(counters, {
    [COUNTER.turns]: 1, [COUNTER.sessions]: 1, [COUNTER.reply('complete')]: 1, [COUNTER.tokensIn]: 120, [COUNTER.tokensOut]: 30,
    [COUNTER.latency(bucketOf(900))]: 1, [COUNTER.firstToken(bucketOf(80))]: 1, [COUNTER.topic('food')]: 1, [COUNTER.topic('home')]: 1,
    [COUNTER.flag('personal_info')]: 1, [COUNTER.sentiment('neutral')]: 1, [COUNTER.unanswered]: 1, [COUNTER.question('can you drive?')]: 1,
  }, 'a topic counts once per turn; an unknown safety category is dropped')
  t.same(sketch, [sketchElement('alice')])
})
