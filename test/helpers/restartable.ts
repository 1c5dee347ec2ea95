// A gateway that a test can stop (a graceful shutdown: drain, then close 1012) and start again
// on the same port, as a redeploy does under a kiosk. Both runs share one dynalite, so the
// conversation survives the restart.
import type { Test } from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { Role } from '../../src/core/types.ts'
import { TEST_JWT_SECRET } from './app.ts'
import { startDynalite } from './dynalite.ts'

export interface RestartableGateway {
  url: string
  port: number
  /** The running app (the newest one after a restart). */
  readonly app: App
  readonly running: boolean
  token(sub: string, role?: Role, claims?: { exp?: number }): string
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startRestartableGateway(t: Test, env: Record<string, string> = {}): Promise<RestartableGateway> {
  const dynalite = await startDynalite()
  t.teardown(() => dynalite.close())
  const config = loadConfig({
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: t.testdir(),
    LOG_LEVEL: 'silent',
    DYNAMODB_ENDPOINT: dynalite.endpoint,
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  })
  let app: App | undefined
  let port = 0
  const start = async () => {
    const next = await buildApp(config)
    await next.listen({ port, host: '127.0.0.1' })
    port = (next.server.address() as { port: number }).port
    app = next
  }
  const stop = async () => {
    const running = app
    app = undefined
    await running?.close()
  }
  await start()
  t.teardown(stop)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get app() { return app! },
    get running() { return app !== undefined },
    // Tokens must expire: an hour unless the test gives its own exp (expiresIn would override it).
    token: (sub, role = 'user', claims = {}) => app!.jwt.sign({ sub, role, ...claims } as { sub: string; role: Role }, claims.exp === undefined ? { expiresIn: 3600 } : {}),
    stop,
    start,
  }
}
