import { Type } from 'typebox'
import { ErrorResponse, errorResponses } from './common.ts'

export const wsSchema = {
  tags: ['conversation'],
  summary: 'The kiosk WebSocket (upgrade). Takes ?access_token= (browsers cannot set headers on a WebSocket)',
  description: 'Client frames (JSON text): `{ "type": "turn", "animalId", "message", "sessionId"?, "clientTurnId"? }`, ' +
    '`{ "type": "cancel", "turnId" }`, `{ "type": "resume", "turnId", "lastEventId" }`. Server frames: `{ "type", "id", "turnId", "data" }`, ' +
    'one per event (metadata, typing, message, complete, storage, replace, error). Close codes: 4401 token expired, 1009 frame too big, 1012 server restarting.',
  querystring: Type.Object({ access_token: Type.Optional(Type.String({ description: 'JWT, for browsers' })) }),
  response: {
    101: Type.Null({ description: 'Switching Protocols: the socket is open' }),
    ...errorResponses,
    426: ErrorResponse,
  },
}
