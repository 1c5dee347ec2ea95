import { Type } from 'typebox'
import { EXPORT_FORMATS } from '../src/core/export-format.ts'
import { TURN_STATUSES } from '../src/core/types.ts'
import { Id, UsageSchema, errorResponses, inContentTypes } from './common.ts'
import { TurnSafetySchema } from './safety.ts'

const Cursor = Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' })

export const HistoryQuery = Type.Object(
  {
    sessionId: Type.Optional(Id('one session\'s turns; omit to list sessions')),
    userId: Type.Optional(Id('list this user\'s sessions (linked parent, zookeeper, admin)')),
    animalId: Type.Optional(Id('list sessions with this animal (zookeeper, admin)')),
    flagged: Type.Optional(Type.Boolean({ description: 'true: only sessions with safety flags, most recently flagged first' })),
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
  safety: Type.Optional(TurnSafetySchema),
})

export const SessionSummary = Type.Object({
  sessionId: Type.String(),
  animalId: Type.String(),
  userId: Type.String(),
  messageCount: Type.Integer({ minimum: 0 }),
  flagged: Type.Boolean({ description: 'true when any turn of the session was flagged' }),
  safetyFlags: Type.Integer({ minimum: 0, description: 'how many safety flags the session\'s turns raised' }),
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

export const DeleteQuery = Type.Object(
  {
    sessionId: Type.Optional(Id('delete this session and all its turns (admin)')),
    userId: Type.Optional(Id('delete everything stored about this visitor (admin, or the child\'s linked parent)')),
  },
  { additionalProperties: false },
)

export const deleteHistorySchema = {
  tags: ['history'],
  summary: 'Delete a session (?sessionId=, admin) or all of a visitor\'s data (?userId=, admin or linked parent)',
  querystring: DeleteQuery,
  response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses },
}

export const ExportQuery = Type.Object(
  {
    sessionId: Type.Optional(Id('the session to export')),
    userId: Type.Optional(Id('export every session of this visitor (whoever may read them)')),
    format: Type.Optional(Type.Enum([...EXPORT_FORMATS], { default: 'json', description: 'json (default), csv or md' })),
  },
  { additionalProperties: false },
)

/** One session in an export (?sessionId=, or each of a visitor's sessions). */
const ExportedSessionSchema = Type.Object({
  sessionId: Type.String(), animalId: Type.String(), animalName: Type.String(), userId: Type.String(),
  createdAt: Type.String(), updatedAt: Type.String(), messageCount: Type.Integer({ minimum: 0 }), safetyFlags: Type.Integer({ minimum: 0 }),
  turns: Type.Array(Type.Object({
    turnId: Type.String(), createdAt: Type.String(), status: Type.Enum([...TURN_STATUSES]), userMessage: Type.String(),
    reply: Type.String(), model: Type.String(), latencyMs: Type.Integer({ minimum: 0 }), usage: UsageSchema,
    safety: Type.Optional(TurnSafetySchema),
  })),
})

/** ?userId=: every session of the visitor, most recently active first. */
const ExportedUserSchema = Type.Object({ userId: Type.String(), sessions: Type.Array(ExportedSessionSchema) })

export const exportSchema = {
  tags: ['history'],
  summary: 'Download a session\'s (?sessionId=) or a visitor\'s (?userId=) whole transcript as JSON, CSV or Markdown (streamed)',
  querystring: ExportQuery,
  response: {
    200: inContentTypes('The transcript file (Content-Disposition: attachment), in the format asked for', {
      'application/json': Type.Union([ExportedSessionSchema, ExportedUserSchema]),
      'text/csv': Type.String({ description: 'RFC 4180, a header row then one row per turn (a visitor\'s: with sessionId and animalId columns)' }),
      'text/markdown': Type.String({ description: 'a readable transcript; everything a person wrote is escaped' }),
    }),
    ...errorResponses,
  },
}
