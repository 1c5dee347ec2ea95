// The tokens this instance verified lately, so a client that sends the same token on every
// request (a kiosk, a load tester) pays for one signature check, not one per request. A lookup
// costs a map read on the token's last characters and one string comparison with the whole token:
// no hash of the token (fast-jwt's own cache takes a SHA-256 of each one).
//
// A hit is exactly a token that verified: the whole string must equal the one stored, so a
// forged token sharing the tail of a good one is a miss and goes to the verifier. An entry never
// outlives its token (`exp` plus the clock tolerance) nor `ttlMs`; failures are never stored.

export interface TokenCacheOptions {
  maxEntries: number
  ttlMs: number
  /** The verifier's clock tolerance: a token is accepted until exp + this. */
  toleranceMs: number
}

/** The part of a token used as the key: the end of its signature, which differs per token. */
const KEY_CHARS = 32

interface Entry {
  token: string
  claims: Record<string, unknown>
  expiresAt: number
}

export class VerifiedTokenCache {
  readonly #options: TokenCacheOptions
  readonly #entries = new Map<string, Entry>()

  constructor(options: TokenCacheOptions) {
    this.#options = options
  }

  /** The claims of `token` when it verified lately and has not expired since; undefined otherwise. */
  get(token: string): Record<string, unknown> | undefined {
    const key = token.slice(-KEY_CHARS)
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.token !== token) return undefined
    if (Date.now() >= entry.expiresAt) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.claims
  }

  /** Remembers a token the verifier just accepted; answers its claims. */
  remember(token: string, claims: Record<string, unknown>): Record<string, unknown> {
    const { maxEntries, ttlMs, toleranceMs } = this.#options
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 + toleranceMs : Infinity
    const key = token.slice(-KEY_CHARS)
    this.#entries.delete(key)
    // The oldest entry goes first; a token still in use is verified again and comes back.
    if (this.#entries.size >= maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, { token, claims, expiresAt: Math.min(exp, Date.now() + ttlMs) })
    return claims
  }

  get size(): number {
    return this.#entries.size
  }
}
