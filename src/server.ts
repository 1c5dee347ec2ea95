// Entry point: `npm start`. Validates the environment, builds the app, listens, and closes
// gracefully on SIGTERM/SIGINT: app.drain() (running turns finish and are stored first, for as
// long as SHUTDOWN_GRACE_MS allows), then app.close(); exit 0.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'

let config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(`Invalid configuration: ${err.message}`)
  process.exit(1)
}

/**
 * After the grace period: storing the turns it cut off (a few storage calls of at most
 * CALL_DEADLINE_MS each), kiosk sockets answering their close, and closing storage and Redis.
 * Past it the process exits 1 anyway.
 */
const AFTER_GRACE_MS = 15_000

const app = await buildApp(config)
closeWithGrace({ delay: config.streaming.shutdownGraceMs + AFTER_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'draining')
  await app.drain()
  await app.close()
})
await app.listen({ port: config.port, host: config.host })
