// Reads stored days back into the answer zookeepers see: per animal, every day of the range
// and the totals (counters summed, visitor sketches merged, percentiles from the summed
// buckets), the topics asked and the unanswered questions, most frequent first.
import { csvRow } from '../core/export-format.ts'
import { SAFETY_CATEGORIES, type SafetyCategory } from '../core/safety/types.ts'
import { TURN_STATUSES, type TurnStatus } from '../core/types.ts'
import { COUNTER, SENTIMENT_LABELS, type SentimentLabel } from './counters.ts'
import { BUCKET_BOUNDS_MS, BUCKET_COUNT, percentile } from './histogram.ts'
import { daysOf, type DayRange } from './range.ts'
import { estimateDistinct } from './sketch.ts'
import type { DayRecord } from './store.ts'

/** Unanswered questions listed per animal. */
export const MAX_UNANSWERED_LISTED = 25

export interface Percentiles {
  p50: number | null
  p95: number | null
}

export interface Usage {
  turns: number
  sessions: number
  /** Distinct visitors (approximate, see docs/analytics.md). */
  visitors: number
  replies: Record<TurnStatus, number>
  tokens: { input: number; output: number }
  latencyMs: Percentiles
  firstTokenMs: Percentiles
  /** Every safety category, with its count of flags. */
  safetyFlags: Record<SafetyCategory, number>
  sentiment: Record<SentimentLabel, number>
  /** Turns whose question the animal could not answer. */
  unansweredTurns: number
}

export interface DayUsage extends Usage {
  date: string
}

export interface Totals extends Usage {
  /** The summed buckets the percentiles come from; `boundsMs[i]` is bucket i's upper bound, the last bucket is open. */
  histograms: { boundsMs: number[]; latencyMs: number[]; firstTokenMs: number[] }
}

export interface AnimalUsage {
  animalId: string
  totals: Totals
  days: DayUsage[]
  topics: { topic: string; count: number }[]
  unanswered: { question: string; count: number }[]
}

export function animalUsage(animalId: string, range: DayRange, records: readonly DayRecord[]): AnimalUsage {
  const byDay = new Map(records.map((record) => [record.day, record]))
  const summed: Record<string, number> = {}
  const sketch: number[] = []
  for (const record of records) {
    for (const [name, value] of Object.entries(record.counters)) summed[name] = (summed[name] ?? 0) + value
    sketch.push(...record.sketch)
  }
  const days = daysOf(range).map((date) => {
    const record = byDay.get(date)
    return { date, ...usage(record?.counters ?? {}, record?.sketch ?? []) }
  })
  return {
    animalId,
    totals: {
      ...usage(summed, sketch),
      histograms: { boundsMs: [...BUCKET_BOUNDS_MS], latencyMs: buckets(summed, COUNTER.latency), firstTokenMs: buckets(summed, COUNTER.firstToken) },
    },
    days,
    topics: ranked(summed, COUNTER.topic('')).map(([topic, count]) => ({ topic, count })),
    unanswered: ranked(summed, COUNTER.question('')).slice(0, MAX_UNANSWERED_LISTED).map(([question, count]) => ({ question, count })),
  }
}

function usage(counters: Record<string, number>, sketch: readonly number[]): Usage {
  const count = (name: string) => counters[name] ?? 0
  const latency = buckets(counters, COUNTER.latency)
  const firstToken = buckets(counters, COUNTER.firstToken)
  return {
    turns: count(COUNTER.turns),
    sessions: count(COUNTER.sessions),
    visitors: estimateDistinct(sketch),
    replies: Object.fromEntries(TURN_STATUSES.map((status) => [status, count(COUNTER.reply(status))])) as Record<TurnStatus, number>,
    tokens: { input: count(COUNTER.tokensIn), output: count(COUNTER.tokensOut) },
    latencyMs: { p50: percentile(latency, 0.5), p95: percentile(latency, 0.95) },
    firstTokenMs: { p50: percentile(firstToken, 0.5), p95: percentile(firstToken, 0.95) },
    safetyFlags: Object.fromEntries(SAFETY_CATEGORIES.map((category) => [category, count(COUNTER.flag(category))])) as Record<SafetyCategory, number>,
    sentiment: Object.fromEntries(SENTIMENT_LABELS.map((label) => [label, count(COUNTER.sentiment(label))])) as Record<SentimentLabel, number>,
    unansweredTurns: count(COUNTER.unanswered),
  }
}

function buckets(counters: Record<string, number>, name: (bucket: number) => string): number[] {
  return Array.from({ length: BUCKET_COUNT }, (_, i) => counters[name(i)] ?? 0)
}

/** The counters of one family (by name prefix), as [key, count], most frequent first, then by key. */
function ranked(counters: Record<string, number>, prefix: string): [string, number][] {
  return Object.entries(counters)
    .filter(([name, count]) => name.startsWith(prefix) && count > 0)
    .map(([name, count]): [string, number] => [name.slice(prefix.length), count])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

const CSV_COLUMNS = [
  'animalId', 'date', 'turns', 'sessions', 'visitors', 'replies_complete', 'replies_cancelled', 'replies_failed',
  'tokens_input', 'tokens_output', 'latency_p50_ms', 'latency_p95_ms', 'first_token_p50_ms', 'first_token_p95_ms',
  'unanswered_turns', 'sentiment_positive', 'sentiment_neutral', 'sentiment_negative',
] as const

/** The days as CSV (RFC 4180, formula-safe cells): one row per animal per day, a column per safety category. */
export function usageCsv(animals: readonly AnimalUsage[]): string {
  const rows = [csvRow([...CSV_COLUMNS, ...SAFETY_CATEGORIES.map((c) => `safety_${c}`)])]
  for (const animal of animals) {
    for (const day of animal.days) {
      rows.push(csvRow([
        animal.animalId, day.date, day.turns, day.sessions, day.visitors, day.replies.complete, day.replies.cancelled, day.replies.failed,
        day.tokens.input, day.tokens.output, day.latencyMs.p50 ?? '', day.latencyMs.p95 ?? '', day.firstTokenMs.p50 ?? '', day.firstTokenMs.p95 ?? '',
        day.unansweredTurns, day.sentiment.positive, day.sentiment.neutral, day.sentiment.negative,
        ...SAFETY_CATEGORIES.map((c) => day.safetyFlags[c]),
      ]))
    }
  }
  return rows.join('')
}
