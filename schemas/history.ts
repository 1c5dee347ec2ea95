import { Type } from 'typebox'
import { EXPORT_FORMATS } from '../src/core/export-format.ts'
import { TURN_STATUSES } from '../src/core/types.ts'
import { Id, UsageSchema, errorResponses, inContentTypes } from './common.ts'

const Cursor = Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' })

export const HistoryQuery = Type.Object(
  {
    sessionId: Type.Optional(Id('one session\'s turns; omit to list sessions')),
    userId: Type.Optional(Id('list this user\'s sessions (linked parent, zookeeper, admin)')),
    animalId: Type.Optional(Id('list sessions with this animal (zookeeper, admin)')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
)

export const HistoryTurn = Type.Object({
  turnId: Type.String(),
  userMessage: Type.String(),
  reply: Type.String(),
  status: Type.Enum([...TURN_STATUSES]),
  createdAt: Type.String(),
  usage: UsageSchema,
  latencyMs: Type.Integer({ minimum: 0 }),
  firstTokenMs: Type.Optional(Type.Integer({ minimum: 0, description: 'time to the first token, in ms; absent when no token came' })),
  model: Type.String(),
})

export const SessionSummary = Type.Object({
  sessionId: Type.String(),
  animalId: Type.String(),
  userId: Type.String(),
  messageCount: Type.Integer({ minimum: 0 }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  summary: Type.Optional(Type.String({ description: 'the latest summary from POST /summarize_convo' })),
  summaryTurnCount: Type.Optional(Type.Integer({ minimum: 0, description: 'the session\'s turns when that summary was made' })),
})

export const SessionTurns = Type.Object({
  sessionId: Type.String(),
  animalId: Type.String(),
  userId: Type.String(),
  turns: Type.Array(HistoryTurn),
  nextCursor: Cursor,
})

export const SessionList = Type.Object({ sessions: Type.Array(SessionSummary), nextCursor: Cursor })

export const historySchema = {
  tags: ['history'],
  summary: 'One session\'s turns (oldest first) with ?sessionId=, else sessions (most recently active first)',
  querystring: HistoryQuery,
  response: { 200: Type.Union([SessionTurns, SessionList]), ...errorResponses },
}

export const SessionQuery = Type.Object(
  { sessionId: Id('the session') },
  { additionalProperties: false },
)

export const deleteHistorySchema = {
  tags: ['history'],
  summary: 'Delete a session and all its turns (admin)',
  querystring: SessionQuery,
  response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses },
}

export const ExportQuery = Type.Object(
  {
    sessionId: Id('the session to export'),
    format: Type.Optional(Type.Enum([...EXPORT_FORMATS], { default: 'json', description: 'json (default), csv or md' })),
  },
  { additionalProperties: false },
)

export const exportSchema = {
  tags: ['history'],
  summary: 'Download a session\'s whole transcript as JSON, CSV or Markdown (streamed)',
  querystring: ExportQuery,
  response: {
    200: inContentTypes('The transcript file (Content-Disposition: attachment), in the format asked for', {
      'application/json': Type.Object({
        sessionId: Type.String(), animalId: Type.String(), animalName: Type.String(), userId: Type.String(),
        createdAt: Type.String(), updatedAt: Type.String(), messageCount: Type.Integer({ minimum: 0 }),
        turns: Type.Array(Type.Object({
          turnId: Type.String(), createdAt: Type.String(), status: Type.Enum([...TURN_STATUSES]), userMessage: Type.String(),
          reply: Type.String(), model: Type.String(), latencyMs: Type.Integer({ minimum: 0 }), usage: UsageSchema,
        })),
      }),
      'text/csv': Type.String({ description: 'RFC 4180, a header row then one row per turn' }),
      'text/markdown': Type.String({ description: 'a readable transcript; everything a person wrote is escaped' }),
    }),
    ...errorResponses,
  },
}
