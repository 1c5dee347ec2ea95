// The `safety_identifier` sent with every model request: the provider can tell one visitor from
// another when it investigates abuse, without ever learning who they are. An HMAC of the user id
// with a per-deployment key (SAFETY_ID_SECRET), so ids like "alice" cannot be guessed back.
import { createHmac } from 'node:crypto'

export function safetyIdentifier(userId: string, secret: string): string {
  return createHmac('sha256', secret).update(`safety-identifier:${userId}`).digest('base64url')
}
