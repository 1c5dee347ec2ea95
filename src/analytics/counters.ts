// What a stored turn adds to its animal's day, and the names of those counters. This is the one
// place that knows how counters are named; the stores only add numbers up.
import { SAFETY_CATEGORIES } from '../core/safety/types.ts'
import { TURN_STATUSES, type Turn } from '../core/types.ts'
import { bucketOf } from './histogram.ts'
import { sketchElement } from './sketch.ts'
import type { DayIncrement } from './store.ts'

export const SENTIMENT_LABELS = ['positive', 'neutral', 'negative'] as const
export type SentimentLabel = (typeof SENTIMENT_LABELS)[number]

/** Counter names: plain ones, and families keyed by a status, bucket, topic, category, label or question. */
export const COUNTER = {
  turns: 'turns',
  sessions: 'sessions',
  unanswered: 'unanswered',
  tokensIn: 'tokens.input',
  tokensOut: 'tokens.output',
  reply: (status: string) => `reply.${status}`,
  latency: (bucket: number) => `latency.${bucket}`,
  firstToken: (bucket: number) => `firstToken.${bucket}`,
  topic: (topic: string) => `topic.${topic}`,
  flag: (category: string) => `flag.${category}`,
  sentiment: (label: SentimentLabel) => `sentiment.${label}`,
  question: (question: string) => `question.${question}`,
} as const

/** What a turn's message was about, as analytics counts it. */
export interface TurnInsights {
  topics: string[]
  /** The animal gave a reply but had nothing to answer the question with. */
  unanswered: boolean
}

/** Everything the recorder worked out about a turn, besides the turn itself. */
export interface TurnAnalysis {
  /** It is its session's first turn. */
  newSession: boolean
  insights: TurnInsights
  sentiment: SentimentLabel
  /**
   * The question as it may be kept and shown to zookeepers (scrubbed and normalised), when the
   * animal could not answer it and the list has room; otherwise only the `unanswered` count grows.
   */
  unansweredQuestion?: string
}

/** Topic names become part of counter (attribute) names: keep them tame. */
const NAME = /^[a-z][a-z0-9_]{0,39}$/
const CATEGORIES: ReadonlySet<string> = new Set(SAFETY_CATEGORIES)

/** The counters one stored turn adds to its animal's day (UTC date of `createdAt`). */
export function turnIncrement(turn: Readonly<Turn>, analysis: TurnAnalysis): DayIncrement {
  const counters: Record<string, number> = {}
  const add = (name: string, amount = 1) => {
    if (amount > 0) counters[name] = (counters[name] ?? 0) + amount
  }
  add(COUNTER.turns)
  if (analysis.newSession) add(COUNTER.sessions)
  if ((TURN_STATUSES as readonly string[]).includes(turn.status)) add(COUNTER.reply(turn.status))
  add(COUNTER.tokensIn, Math.max(0, Math.round(turn.usage.promptTokens)))
  add(COUNTER.tokensOut, Math.max(0, Math.round(turn.usage.completionTokens)))
  add(COUNTER.latency(bucketOf(turn.latencyMs)))
  if (turn.firstTokenMs !== undefined) add(COUNTER.firstToken(bucketOf(turn.firstTokenMs)))
  for (const topic of new Set(analysis.insights.topics)) if (NAME.test(topic)) add(COUNTER.topic(topic))
  for (const flag of turn.safety?.flags ?? []) if (CATEGORIES.has(flag.category)) add(COUNTER.flag(flag.category))
  add(COUNTER.sentiment(analysis.sentiment))
  if (analysis.insights.unanswered) {
    add(COUNTER.unanswered)
    if (analysis.unansweredQuestion) add(COUNTER.question(analysis.unansweredQuestion))
  }
  return { counters, sketch: [sketchElement(turn.userId)] }
}

/** The UTC day of an ISO-8601 timestamp: YYYY-MM-DD. */
export function dayOf(isoTime: string): string {
  return new Date(isoTime).toISOString().slice(0, 10)
}
