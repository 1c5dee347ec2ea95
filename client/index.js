// The animal chat gateway's client library: plain ESM, no dependencies, for browsers and Node 24.
export { GatewayClient } from './gateway-client.js'
export { Conversation } from './conversation.js'
export { Turn } from './turn.js'
export { GatewayError, ERROR_POLICY, policyFor } from './errors.js'
export { backoffDelay } from './backoff.js'
export { decodeToken, expiresAt, randomId } from './token.js'
export { readSse } from './sse.js'
