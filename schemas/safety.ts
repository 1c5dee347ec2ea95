import { Type } from 'typebox'
import { FLAG_SOURCES, SAFETY_ACTIONS, SAFETY_CATEGORIES, SEVERITIES } from '../src/core/safety/types.ts'
import { Id, errorResponses } from './common.ts'

export const SafetyFlagSchema = Type.Object({
  category: Type.Enum([...SAFETY_CATEGORIES]),
  severity: Type.Enum([...SEVERITIES]),
  source: Type.Enum([...FLAG_SOURCES], { description: 'input: the visitor\'s message; output: the model\'s reply; provider: the model\'s own content filter' }),
})

export const TurnSafetySchema = Type.Object(
  { action: Type.Enum([...SAFETY_ACTIONS]), flags: Type.Array(SafetyFlagSchema) },
  { description: 'present when anything in the turn was flagged' },
)

export const SafetyEventsQuery = Type.Object(
  {
    userId: Type.Optional(Id('only this visitor\'s flags (a parent: their own or a linked child\'s)')),
    animalId: Type.Optional(Id('only flags raised in chats with this animal')),
    severity: Type.Optional(Type.Enum([...SEVERITIES], { description: 'only flags of this severity' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
)

export const SafetyEventSchema = Type.Object({
  turnId: Type.String(),
  sessionId: Type.String(),
  userId: Type.String(),
  animalId: Type.String(),
  category: Type.Enum([...SAFETY_CATEGORIES]),
  severity: Type.Enum([...SEVERITIES]),
  source: Type.Enum([...FLAG_SOURCES]),
  action: Type.Enum([...SAFETY_ACTIONS], { description: 'what the turn did about it' }),
  createdAt: Type.String({ description: 'when the visitor sent the message' }),
})

export const safetyEventsSchema = {
  tags: ['safety'],
  summary: 'Safety flags, newest first (zookeepers and admins: all; a parent: their own and their linked children\'s)',
  querystring: SafetyEventsQuery,
  response: {
    200: Type.Object({
      events: Type.Array(SafetyEventSchema),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' }),
    }),
    ...errorResponses,
  },
}
