// Builds the real app for a test: dynalite over the wire, the real auth, a real listening port.
import type { Test } from 'tap'
import { buildApp, type App, type BuildOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { Role } from '../../src/core/types.ts'
import { startDynalite } from './dynalite.ts'

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long'

export interface TestApp {
  app: App
  /** http://127.0.0.1:<port> */
  url: string
  /** ws://127.0.0.1:<port> */
  wsUrl: string
  dynamoEndpoint: string
  token(sub: string, role?: Role): string
  /** Authorization header for a user. */
  auth(sub: string, role?: Role): { authorization: string }
}

/**
 * Starts dynalite (unless DYNAMODB_ENDPOINT or STORAGE is given in env) and the app on a free
 * port; both close when the test ends. Without OPENAI_API_KEY the offline responder answers.
 */
export async function startApp(t: Test, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
  let dynamoEndpoint = env.DYNAMODB_ENDPOINT ?? ''
  if (!dynamoEndpoint && !env.STORAGE) {
    const dynalite = await startDynalite()
    t.teardown(() => dynalite.close())
    dynamoEndpoint = dynalite.endpoint
  }
  const config = loadConfig({
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: t.testdir(),
    LOG_LEVEL: 'silent',
    ...(dynamoEndpoint ? { DYNAMODB_ENDPOINT: dynamoEndpoint } : {}),
    ...env,
  })
  const app = await buildApp(config, options)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  // Tokens must expire (within JWT_MAX_TTL_SECONDS): an hour is longer than any test.
  const token = (sub: string, role: Role = 'user') => app.jwt.sign({ sub, role }, { expiresIn: 3600 })
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dynamoEndpoint,
    token,
    auth: (sub, role) => ({ authorization: `Bearer ${token(sub, role)}` }),
  }
}
