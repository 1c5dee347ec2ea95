// Entry point: `npm start`. Validates the environment, builds the app, listens, and closes
// gracefully on SIGTERM/SIGINT (running turns finish and are stored first).
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

const app = await buildApp(config)
closeWithGrace({ delay: config.streaming.shutdownGraceMs + 5000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})
await app.listen({ port: config.port, host: config.host })
