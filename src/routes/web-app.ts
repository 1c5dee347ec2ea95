// The web app's static files: the kiosk at `/`, the family and keeper pages, and the client
// library under `/client/`. They are public (no token: the pages ask for one themselves), so this
// plugin is registered outside the authenticated routes. Only files that exist at start-up get a
// route (wildcard: false), so an unknown path still gets the API's JSON 404.
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url))
const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url))

const webAppRoutes: FastifyPluginAsync = async (app) => {
  const common = { wildcard: false, schemaHide: true, cacheControl: true, maxAge: 0, etag: true }
  await app.register(fastifyStatic, { ...common, root: PUBLIC_DIR, prefix: '/', index: ['index.html'] })
  // The type declarations are for editors and tsc, not browsers.
  await app.register(fastifyStatic, { ...common, root: CLIENT_DIR, prefix: '/client/', decorateReply: false, globIgnore: ['**/*.d.ts'] })
}

export default webAppRoutes
