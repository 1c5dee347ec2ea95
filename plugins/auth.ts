// Authentication: verifies the JWT on every route that asks for it and exposes the caller as
// `request.caller`. Query-string tokens are accepted only where a route opts in (SSE streams and
// the WebSocket upgrade), because EventSource and browser WebSockets cannot send headers.
// The accepted algorithm is pinned to the configured key: HS256 for JWT_SECRET (or the development
// secret), RS256 or ES256 for JWT_PUBLIC_KEY, so `alg: none` and algorithm confusion never verify.
import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, unauthorized } from '../src/core/errors.ts'
import { ROLES, type Caller, type Role } from '../src/core/types.ts'
import type { Config } from '../src/config.ts'
import { resolveJwtSecret } from '../src/dev-secret.ts'
import { publicKeyAlgorithm } from '../src/jwt-keys.ts'
import { VerifiedTokenCache } from '../src/token-cache.ts'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: 401 unless a valid token is present; sets request.caller. */
    authenticate(request: FastifyRequest): Promise<void>
    /** Verifies a token handed over outside a request's headers (the WebSocket `auth` frame). */
    verifyToken(token: string): Promise<VerifiedToken>
  }
  interface FastifyRequest {
    caller: Caller
    /** The request's verified token: who, its `exp`, when it stops being accepted. */
    token: VerifiedToken
  }
  interface FastifyContextConfig {
    /** Accept `?access_token=` on this route (SSE stream routes, WebSocket upgrade). */
    queryToken?: boolean
  }
}

/** Who a valid token speaks for, and until when. */
export interface VerifiedToken {
  caller: Caller
  /** The `exp` claim (seconds since epoch); every accepted token has one. */
  exp: number
  /** When the token stops being accepted (ms since epoch, clock tolerance included). */
  expiresAt: number
}

/** fast-jwt's reasons, in the service's words (the library's wording is not part of our API). */
function rejectionMessage(err: Error & { code?: string }, algorithm: string): string {
  const claim = /\b(iss|aud|sub|exp|nbf|iat|jti)\b/.exec(err.message)?.[1]
  switch (err.code) {
    case 'FAST_JWT_EXPIRED': return 'The token has expired: get a new one'
    case 'FAST_JWT_INACTIVE': return 'The token is not valid yet (nbf)'
    case 'FAST_JWT_INVALID_SIGNATURE': return 'The token\'s signature does not verify'
    case 'FAST_JWT_INVALID_ALGORITHM': return `The token must be signed with ${algorithm}`
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM': return `The token has no ${claim ?? 'required'} claim`
    case 'FAST_JWT_INVALID_CLAIM_VALUE':
    case 'FAST_JWT_INVALID_CLAIM_TYPE': return `The token's ${claim ?? ''} claim is not accepted`.replace('  ', ' ')
    default: return 'The token is not a valid JWT: send Authorization: Bearer <JWT>'
  }
}

export default fp(
  async (app) => {
    const { auth } = app.config
    const key = await verificationKey(app.config)
    if (key.generated) app.log.warn('JWT_SECRET is not set: using the development secret kept under DATA_DIR')
    const toleranceMs = auth.clockToleranceSeconds * 1000

    await app.register(fastifyJwt, {
      secret: key.secret,
      // Only an HS256 deployment can sign (tests, `npm run token`); with a public key tokens come from the identity provider.
      ...(key.algorithm === 'HS256' ? { sign: { algorithm: 'HS256' } } : {}),
      verify: {
        algorithms: [key.algorithm],
        extractToken: tokenOf,
        clockTolerance: toleranceMs,
        // Verified tokens are remembered by `tokens` below (no SHA-256 of each token, as fast-jwt's cache takes).
        cache: false,
        // allowedIss/allowedAud alone would let a token without the claim through.
        requiredClaims: [...(auth.issuer ? ['iss'] : []), ...(auth.audience ? ['aud'] : [])],
        ...(auth.issuer ? { allowedIss: auth.issuer } : {}),
        ...(auth.audience ? { allowedAud: auth.audience } : {}),
      },
    })

    // A client reusing its token is not re-verified on every request. An entry never outlives the
    // token: it expires at `exp` (clock tolerance included) or after a minute. Failures are not kept.
    const tokens = new VerifiedTokenCache({ maxEntries: 10_000, ttlMs: 60_000, toleranceMs })
    const verify = (token: string): Record<string, unknown> => tokens.get(token) ?? tokens.remember(token, app.jwt.verify(token))

    app.decorateRequest('caller', null as unknown as Caller)
    app.decorateRequest('token', null as unknown as VerifiedToken)
    /**
     * Verifies a token and checks the claims the service requires beyond a valid signature, the
     * same way for every way a token arrives. A token in the verified-token cache (a client
     * reusing its token) costs one lookup. Every rejection is worded here.
     * `expired` is the code for an expired token: a request's is `unauthorized`, a WebSocket
     * `auth` frame's `token_expired`.
     */
    const checkToken = async (token: string, expired: 'unauthorized' | 'token_expired'): Promise<VerifiedToken> => {
      let claims: Record<string, unknown>
      try {
        claims = verify(token)
      } catch (err) {
        const code = (err as { code?: unknown }).code === 'FAST_JWT_EXPIRED' ? expired : 'unauthorized'
        throw new AppError(code, rejectionMessage(err as Error & { code?: string }, key.algorithm))
      }
      const { sub, role, exp, iat } = claims
      if (typeof sub !== 'string' || sub.trim() === '') throw unauthorized('The token has no sub claim (the user id)')
      if (!ROLES.includes(role as Role)) throw unauthorized(`The token's role must be one of ${ROLES.join(', ')}`)
      if (typeof exp !== 'number') throw unauthorized('The token has no exp claim: tokens must expire')
      const nowSeconds = Date.now() / 1000
      if (typeof iat === 'number' && iat > nowSeconds + auth.clockToleranceSeconds) {
        throw unauthorized('The token was issued in the future (iat): check the identity provider\'s clock')
      }
      const lifetime = Math.max(exp - nowSeconds, typeof iat === 'number' ? exp - iat : 0)
      if (lifetime > auth.maxTtlSeconds + auth.clockToleranceSeconds) {
        throw unauthorized(`The token lives longer than ${auth.maxTtlSeconds} seconds (JWT_MAX_TTL_SECONDS): issue a shorter-lived one`)
      }
      return { caller: { sub, role: role as Role }, exp, expiresAt: exp * 1000 + toleranceMs }
    }

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = tokenOf(request)
      if (!token) throw unauthorized('A bearer token is required (Authorization: Bearer <JWT>)')
      request.token = await checkToken(token, 'unauthorized')
      request.caller = request.token.caller
    })

    app.decorate('verifyToken', (token: string) => checkToken(token, 'token_expired'))
  },
  { name: 'auth', dependencies: ['config'] },
)

type VerificationKey =
  | { algorithm: 'HS256'; secret: string; generated: boolean }
  | { algorithm: 'RS256' | 'ES256'; secret: { public: string }; generated: false }

/** The key tokens are verified with, and the one algorithm it accepts. */
async function verificationKey(config: Config): Promise<VerificationKey> {
  const { publicKey } = config.auth
  // loadConfig has already checked the key, so publicKeyAlgorithm cannot throw here.
  if (publicKey) return { algorithm: publicKeyAlgorithm(publicKey), secret: { public: publicKey }, generated: false }
  const { secret, generated } = await resolveJwtSecret(config)
  return { algorithm: 'HS256', secret, generated }
}

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1]
  if (request.routeOptions.config.queryToken) {
    const token = (request.query as { access_token?: unknown } | undefined)?.access_token
    if (typeof token === 'string' && token !== '') return token
  }
  return undefined
}
