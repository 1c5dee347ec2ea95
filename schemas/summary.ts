import { Type } from 'typebox'
import { Id, UsageSchema, errorResponses, ErrorResponse } from './common.ts'

export const SummaryRequest = Type.Object(
  { sessionId: Id('the session to summarise (one the caller may read)') },
  { additionalProperties: false },
)

export const SummaryResponse = Type.Object({
  sessionId: Type.String(),
  summary: Type.String({ description: 'a few third-person sentences: what the visitor asked and what the animal told them' }),
  turnCount: Type.Integer({ minimum: 0, description: 'the session\'s stored turns when the summary was made (cancelled and failed ones included)' }),
  model: Type.String({ description: 'who wrote it: OPENAI_MODEL, offline, "offline (fallback from <model>)", or none when there was nothing to summarise' }),
  usage: Type.Optional(UsageSchema),
  createdAt: Type.String({ format: 'date-time' }),
})

export const summarySchema = {
  tags: ['conversation'],
  summary: 'A short summary of a session, written by the model and stored on the session',
  body: SummaryRequest,
  response: { 200: SummaryResponse, ...errorResponses, 502: ErrorResponse },
}
