// Authentication: verifies the JWT on every route that asks for it and exposes the caller as
// `request.caller`. Query-string tokens are accepted only where a route opts in (SSE streams and
// the WebSocket upgrade), because EventSource and browser WebSockets cannot send headers.
import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../src/core/errors.ts'
import { ROLES, type Caller, type Role } from '../src/core/types.ts'
import { resolveJwtSecret } from '../src/dev-secret.ts'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role }
    user: Caller
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: 401 unless a valid token is present; sets request.caller. */
    authenticate(request: FastifyRequest): Promise<void>
  }
  interface FastifyRequest {
    caller: Caller
  }
  interface FastifyContextConfig {
    /** Accept `?access_token=` on this route (SSE stream routes, WebSocket upgrade). */
    queryToken?: boolean
  }
}

const unauthorized = (message: string) => new AppError(401, 'unauthorized', message)

export default fp(
  async (app) => {
    const { secret, generated } = await resolveJwtSecret(app.config)
    if (generated) app.log.warn('JWT_SECRET is not set: using the development secret kept under DATA_DIR')

    await app.register(fastifyJwt, {
      secret,
      sign: { algorithm: 'HS256' },
      verify: { algorithms: ['HS256'], extractToken: tokenOf },
    })

    app.decorateRequest('caller', null as unknown as Caller)
    app.decorate('authenticate', async (request: FastifyRequest) => {
      if (!tokenOf(request)) throw unauthorized('A bearer token is required (Authorization: Bearer <JWT>)')
      let claims: Record<string, unknown>
      try {
        claims = await request.jwtVerify()
      } catch (err) {
        throw unauthorized(`The token was rejected: ${(err as Error).message}`)
      }
      if (typeof claims.sub !== 'string' || claims.sub === '') throw unauthorized('The token has no sub claim')
      if (!ROLES.includes(claims.role as Role)) throw unauthorized(`The token's role must be one of ${ROLES.join(', ')}`)
      request.caller = { sub: claims.sub, role: claims.role as Role }
    })
  },
  { name: 'auth', dependencies: ['config'] },
)

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1]
  if (request.routeOptions.config.queryToken) {
    const token = (request.query as { access_token?: unknown } | undefined)?.access_token
    if (typeof token === 'string' && token !== '') return token
  }
  return undefined
}
