import { Type } from 'typebox'
import { SENTIMENT_LABELS } from '../src/analytics/counters.ts'
import { SAFETY_CATEGORIES } from '../src/core/safety/types.ts'
import { TURN_STATUSES } from '../src/core/types.ts'
import { Id, errorResponses, inContentTypes } from './common.ts'

const Day = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description })
const Count = Type.Integer({ minimum: 0 })
const Ms = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'ms; null when nothing was counted' })
const Percentiles = Type.Object({ p50: Ms, p95: Ms }, { description: 'read back from fixed buckets (see histograms)' })
const byName = (names: readonly string[]) => Type.Object(Object.fromEntries(names.map((name) => [name, Count])))

export const AnalyticsQuery = Type.Object(
  {
    from: Type.Optional(Day('first day, YYYY-MM-DD (UTC), inclusive; default 6 days before `to`')),
    to: Type.Optional(Day('last day, YYYY-MM-DD (UTC), inclusive; default today. At most 366 days in all')),
    format: Type.Optional(Type.Enum(['json', 'csv'], { default: 'json', description: 'csv: the days as CSV, one row per animal per day' })),
  },
  { additionalProperties: false },
)

const usage = {
  turns: Count,
  sessions: Type.Integer({ minimum: 0, description: 'sessions started' }),
  visitors: Type.Integer({ minimum: 0, description: 'distinct visitors, approximate (HyperLogLog, ~13% above 150)' }),
  replies: byName(TURN_STATUSES),
  tokens: Type.Object({ input: Count, output: Count }),
  latencyMs: Percentiles,
  firstTokenMs: Percentiles,
  safetyFlags: Type.Object(Object.fromEntries(SAFETY_CATEGORIES.map((category) => [category, Count])), { description: 'flags by safety category' }),
  sentiment: byName(SENTIMENT_LABELS),
  unansweredTurns: Type.Integer({ minimum: 0, description: 'turns whose question the animal could not answer' }),
}

export const AnimalUsageSchema = {
  animalId: Type.String(),
  totals: Type.Object({
    ...usage,
    histograms: Type.Object({
      boundsMs: Type.Array(Count, { description: 'upper bound of each bucket; one more, open bucket follows' }),
      latencyMs: Type.Array(Count),
      firstTokenMs: Type.Array(Count),
    }),
  }),
  days: Type.Array(Type.Object({ date: Type.String(), ...usage }), { description: 'every day of the range, oldest first' }),
  topics: Type.Array(Type.Object({ topic: Type.String(), count: Count }), { description: 'most asked first' }),
  unanswered: Type.Array(Type.Object({ question: Type.String(), count: Count }), { description: 'questions the animal could not answer (scrubbed), most frequent first' }),
}

const range = { from: Type.String(), to: Type.String() }
const Csv = Type.String({ description: 'with ?format=csv (Content-Disposition: attachment): a header row, then one row per animal per day' })

export const analyticsSchema = {
  tags: ['analytics'],
  summary: 'Usage per animal per day, with totals (zookeepers, admins); ?format=csv for the days as CSV',
  querystring: AnalyticsQuery,
  response: {
    200: inContentTypes('The usage as JSON, or as CSV with ?format=csv', {
      'application/json': Type.Object({ ...range, animals: Type.Array(Type.Object(AnimalUsageSchema)) }),
      'text/csv': Csv,
    }),
    ...errorResponses,
  },
}

export const animalAnalyticsSchema = {
  tags: ['analytics'],
  summary: 'One animal\'s usage per day, with totals (zookeepers, admins); ?format=csv for the days as CSV',
  params: Type.Object({ animalId: Id('the animal') }),
  querystring: AnalyticsQuery,
  response: {
    200: inContentTypes('The animal\'s usage as JSON, or as CSV with ?format=csv', {
      'application/json': Type.Object({ ...range, ...AnimalUsageSchema }),
      'text/csv': Csv,
    }),
    ...errorResponses,
  },
}
