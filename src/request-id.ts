// Request ids: a client's (or a proxy's) X-Request-Id is kept when it is short and plain, so one
// id follows a request through every hop's logs; anything else (long, spaces, newlines, control
// characters a log viewer might interpret) is replaced by a fresh id. The id is echoed back in
// the X-Request-Id response header.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER]
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID()
}
