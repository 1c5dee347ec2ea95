// Browser-facing protection: CORS for web pages on other origins, and security headers
// (@fastify/helmet) with a Content-Security-Policy that Swagger UI at /docs and the buildless web
// app live with: scripts, styles, images and media from this origin's files only, nothing inline.
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

/** Every method a route uses (a page on another origin may cancel, delete, edit and link). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']
/** Request headers a page may send. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Last-Event-ID', 'X-Request-Id', 'X-Session-Id']
/** Response headers a page's script may read. */
export const CORS_EXPOSED_HEADERS = ['Retry-After', 'Content-Disposition', 'X-Request-Id', 'X-Session-Id']

/**
 * 'self' also matches ws: and wss: on this host (CSP level 3), so the kiosk's WebSocket and
 * EventSource need nothing more. No 'unsafe-inline' anywhere: pages load their scripts and styles
 * as files. frame-ancestors 'self': no other site can frame a child's chat.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'media-src': ["'self'", 'blob:', 'data:'],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
}

export default fp(
  async (app) => {
    const { corsOrigins } = app.config
    await app.register(cors, {
      // '*' never echoes an origin (so never `null`) and allows no credentials; a list echoes
      // only the listed origins. Tokens travel in Authorization, so no page needs credentials.
      origin: corsOrigins === '*' ? '*' : corsOrigins,
      credentials: false,
      methods: CORS_METHODS,
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
    })
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: CONTENT_SECURITY_POLICY,
      },
      // The API is read cross-origin by CORS-enabled fetches; CORP only limits no-cors embeds.
      crossOriginResourcePolicy: { policy: 'same-origin' },
    })
  },
  { name: 'security', dependencies: ['config'] },
)
