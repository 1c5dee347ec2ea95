// Opaque pagination cursors shared by both adapters. A cursor is the position where the
// previous page stopped (a DynamoDB LastEvaluatedKey, or its in-memory equivalent), bound to
// the query it came from (`scope`) and signed, so a tampered, truncated or replayed cursor is a
// 400 and never reaches the database. The HMAC is for integrity, not secrecy: the payload is
// readable base64url JSON. The app passes a key derived from its configured (or generated) secret
// (src/dev-secret.ts), so cursors survive restarts and work across instances sharing the secret;
// a codec built without one uses a random key nobody else knows.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { badRequest } from '../core/errors.ts'

/** A page position: only string attributes (every key attribute in our tables is a string). */
export type CursorKey = Record<string, string>

const VERSION = 1
const MAX_CURSOR_LENGTH = 4096
const MAX_VALUE_LENGTH = 2048

export class CursorCodec {
  readonly #key: string | Buffer

  constructor(key: string | Buffer = randomBytes(32)) {
    this.#key = key
  }

  encode(scope: string, position: CursorKey): string {
    const payload = Buffer.from(JSON.stringify({ v: VERSION, s: scope, k: position })).toString('base64url')
    return `${payload}.${this.#sign(payload)}`
  }

  /**
   * The position inside `cursor`, checked against the scope it must belong to and the exact
   * set of key attributes the query uses, with the values in `fixed` (the query's partition key:
   * a start key in another partition is refused here, not by the database).
   * Anything else throws badRequest('cursor is invalid').
   */
  decode(scope: string, cursor: string, attributes: readonly string[], fixed: CursorKey = {}): CursorKey {
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor()
    const [payload, signature, extra] = cursor.split('.')
    if (!payload || !signature || extra !== undefined) throw invalidCursor()
    const expected = Buffer.from(this.#sign(payload))
    const given = Buffer.from(signature)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor()

    let decoded: unknown
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      throw invalidCursor()
    }
    const { v, s, k } = (decoded ?? {}) as { v?: unknown; s?: unknown; k?: unknown }
    if (v !== VERSION || s !== scope || !isPosition(k, attributes)) throw invalidCursor()
    if (Object.entries(fixed).some(([name, value]) => k[name] !== value)) throw invalidCursor()
    return k
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url').slice(0, 22)
  }
}

function isPosition(value: unknown, attributes: readonly string[]): value is CursorKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const entries = Object.entries(value)
  return entries.length === attributes.length &&
    entries.every(([name, v]) => attributes.includes(name) && typeof v === 'string' && v.length > 0 && v.length <= MAX_VALUE_LENGTH)
}

export const invalidCursor = () => badRequest('cursor is invalid')
