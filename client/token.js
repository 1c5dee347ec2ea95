// Reads a JWT's claims without verifying it: the server verifies; the client only needs `exp`
// to rotate the token before it runs out (and `sub` / `role` to show who is signed in).

/** The token's payload, or undefined when it is not a JWT. */
export function decodeToken(token) {
  const part = typeof token === 'string' ? token.split('.')[1] : undefined
  if (!part) return undefined
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=')
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes))
    return claims && typeof claims === 'object' ? claims : undefined
  } catch {
    return undefined
  }
}

/** When the token expires, in ms since the epoch; undefined without an `exp` claim. */
export function expiresAt(token) {
  const exp = decodeToken(token)?.exp
  return typeof exp === 'number' ? exp * 1000 : undefined
}

/** A random id for clientTurnId (crypto.randomUUID needs a secure context; this does not). */
export function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}
