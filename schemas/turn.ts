import { Type, type Static } from 'typebox'
import { MAX_MESSAGE_LENGTH } from '../src/core/engine.ts'
import { EventStream, Id, UsageSchema, errorResponses, ErrorResponse, inContentTypes } from './common.ts'

export const TurnRequest = Type.Object(
  {
    animalId: Id('the animal to talk to, e.g. lion'),
    // The core re-checks the length after trimming; this bound only stops absurd payloads early.
    message: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_LENGTH * 2, description: `1..${MAX_MESSAGE_LENGTH} characters after trimming` }),
    sessionId: Type.Optional(Id('continue this session; omit to start a new one')),
    clientTurnId: Type.Optional(Id('idempotency key: a retry with the same key returns the same turn')),
  },
  { additionalProperties: false },
)
export type TurnRequest = Static<typeof TurnRequest>

export const TurnQuery = Type.Object({
  stream: Type.Optional(Type.Boolean({ description: 'true answers with Server-Sent Events, like Accept: text/event-stream' })),
})

export const TurnResponse = Type.Object({
  sessionId: Type.String(),
  turnId: Type.String(),
  animalId: Type.String(),
  reply: Type.String(),
  usage: UsageSchema,
  latencyMs: Type.Integer({ minimum: 0 }),
  model: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
})

export const TurnParams = Type.Object({ turnId: Id('the turn id from metadata or the JSON answer') })

export const StreamQuery = Type.Object({
  lastEventId: Type.Optional(Type.String({ maxLength: 200, description: 'resume after this event id (same as the Last-Event-ID header)' })),
  access_token: Type.Optional(Type.String({ description: 'JWT, for EventSource which cannot send headers' })),
})

export const turnSchema = {
  tags: ['conversation'],
  summary: 'Send a message and get the animal\'s reply (JSON, or SSE with Accept: text/event-stream or ?stream=true)',
  body: TurnRequest,
  querystring: TurnQuery,
  response: {
    200: inContentTypes('The reply as JSON; with Accept: text/event-stream or ?stream=true, the turn\'s events as they happen', {
      'application/json': TurnResponse,
      'text/event-stream': EventStream,
    }),
    ...errorResponses,
    409: ErrorResponse,
    502: ErrorResponse,
  },
}

export const streamTurnSchema = {
  tags: ['conversation'],
  summary: 'Attach to a turn\'s event stream; resumes after Last-Event-ID (header) or ?lastEventId=. Takes ?access_token= (EventSource cannot send headers)',
  params: TurnParams,
  querystring: StreamQuery,
  response: {
    200: inContentTypes('The turn\'s events after the given id, then the live rest', { 'text/event-stream': EventStream }),
    204: Type.Null({ description: 'The turn has ended and nothing is left after the given id (EventSource stops reconnecting)' }),
    ...errorResponses,
  },
}

export const cancelTurnSchema = {
  tags: ['conversation'],
  summary: 'Cancel a running turn: the model request is aborted, the partial reply is stored as cancelled',
  params: TurnParams,
  response: {
    202: Type.Object({ turnId: Type.String(), cancelled: Type.Literal(true) }),
    ...errorResponses,
    409: ErrorResponse,
  },
}
