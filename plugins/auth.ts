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
  /** The `exp` claim (seconds since epoch). */
  exp: number | undefined
  /** When the token stops being accepted (ms since epoch, clock tolerance included); undefined without `exp`. */
  expiresAt: number | undefined
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
        // fast-jwt's LRU of verified tokens (1,000 entries): a client reusing its token is not
        // re-verified on every request. An entry never outlives the token: it expires at `exp`
        // (clock tolerance included) or after cacheTTL, whichever comes first. Failures are not cached.
        cache: true,
        cacheTTL: 60_000,
        // allowedIss/allowedAud alone would let a token without the claim through.
        requiredClaims: [...(auth.issuer ? ['iss'] : []), ...(auth.audience ? ['aud'] : [])],
        ...(auth.issuer ? { allowedIss: auth.issuer } : {}),
        ...(auth.audience ? { allowedAud: auth.audience } : {}),
      },
    })

    app.decorateRequest('caller', null as unknown as Caller)
    app.decorateRequest('token', null as unknown as VerifiedToken)
    /**
     * The verifier is called directly: a token in its cache (a client reusing its token) then
     * costs one lookup, where request.jwtVerify() decodes it again first. A token it rejects goes
     * through request.jwtVerify(), which words the reason (expired, bad signature, ...): rejected
     * tokens are verified twice, which the per-IP rate limit bounds.
     */
    const verifiedClaims = async (request: FastifyRequest, token: string): Promise<Record<string, unknown>> => {
      try {
        return app.jwt.verify(token)
      } catch {
        try {
          return await request.jwtVerify()
        } catch (err) {
          throw unauthorized(`The token was rejected: ${(err as Error).message}`)
        }
      }
    }

    /** The claims every accepted token must carry, checked the same way for every way a token arrives. */
    const verifiedToken = (claims: Record<string, unknown>): VerifiedToken => {
      if (typeof claims.sub !== 'string' || claims.sub === '') throw unauthorized('The token has no sub claim')
      if (!ROLES.includes(claims.role as Role)) throw unauthorized(`The token's role must be one of ${ROLES.join(', ')}`)
      const exp = typeof claims.exp === 'number' ? claims.exp : undefined
      return { caller: { sub: claims.sub, role: claims.role as Role }, exp, expiresAt: exp === undefined ? undefined : exp * 1000 + toleranceMs }
    }

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = tokenOf(request)
      if (!token) throw unauthorized('A bearer token is required (Authorization: Bearer <JWT>)')
      request.token = verifiedToken(await verifiedClaims(request, token))
      request.caller = request.token.caller
    })

    app.decorate('verifyToken', async (token: string) => {
      let claims: Record<string, unknown>
      try {
        claims = app.jwt.verify(token)
      } catch (err) {
        if ((err as { code?: unknown }).code === 'FAST_JWT_EXPIRED') throw new AppError('token_expired', 'The token has expired: get a fresh one')
        throw unauthorized(`The token was rejected: ${(err as Error).message}`)
      }
      return verifiedToken(claims)
    })
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
