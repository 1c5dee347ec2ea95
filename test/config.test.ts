import { spawnSync } from 'node:child_process'
import t from 'tap'
import { loadConfig } from '../src/config.ts'

t.test('defaults need nothing set', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 8080)
  t.equal(config.storage.mode, 'auto')
  t.same(config.storage.tables, {
    conversations: 'quest-dev-conversations',
    sessions: 'quest-dev-conversation-sessions',
    animals: 'quest-dev-animals',
    families: 'quest-dev-families',
    safety: 'quest-dev-safety',
    analytics: 'quest-dev-analytics',
  })
  t.equal(config.storage.analyticsRetentionDays, 400)
  t.equal(config.llm.apiKey, undefined)
  t.equal(config.safetyWebhook.url, undefined, 'no webhook unless SAFETY_WEBHOOK_URL is set')
  t.equal(config.storage.retentionSweepMs, 3_600_000)
})

t.test('OPENAI_BASE_URL wins over the seed\'s OPENAI_API_URL', async (t) => {
  t.equal(loadConfig({ OPENAI_API_URL: 'http://a.example/v1' }).llm.baseURL, 'http://a.example/v1')
  t.equal(loadConfig({ OPENAI_API_URL: 'http://a.example/v1', OPENAI_BASE_URL: 'http://b.example/v1' }).llm.baseURL, 'http://b.example/v1')
})

t.test('a bad value is rejected with a message naming the variable', async (t) => {
  for (const [name, value] of [
    ['PORT', 'eighty'], ['PORT', '70000'], ['STORAGE', 'floppy'], ['OPENAI_TEMPERATURE', '3'],
    ['JWT_SECRET', 'too-short'], ['DYNAMODB_ENDPOINT', 'localhost:8000'], ['RETENTION_DAYS', '0'], ['ANALYTICS_RETENTION_DAYS', '-1'],
    ['REDIS_URL', 'http://nope'], ['HEARTBEAT_MS', 'often'],
    ['SAFETY_WEBHOOK_URL', 'ftp://hooks.example'], ['SAFETY_WEBHOOK_MAX_ATTEMPTS', '0'], ['RETENTION_SWEEP_MS', 'hourly'],
    ['TURN_LEASE_MS', '50'], ['TURN_LEASE_MS', 'soon'],
  ]) {
    t.throws(() => loadConfig({ [name]: value }), { name: 'ConfigError', message: new RegExp(`^${name}: `) }, `${name}=${value}`)
  }
})

t.test('the server refuses to start on a bad value, with one line naming it', async (t) => {
  const run = spawnSync(process.execPath, ['src/server.ts'], { env: { ...process.env, PORT: 'eighty' }, encoding: 'utf8', timeout: 20000 })
  t.equal(run.status, 1)
  t.match(run.stderr, /Invalid configuration: PORT: must be integer/)
})

t.test('CORS_ORIGINS: * or a list of origins; anything else names the variable', async (t) => {
  t.equal(loadConfig({}).corsOrigins, '*', 'any origin by default')
  t.same(loadConfig({ CORS_ORIGINS: 'https://zoo.example, http://localhost:3000' }).corsOrigins, ['https://zoo.example', 'http://localhost:3000'])
  for (const bad of ['null', 'zoo.example', 'https://zoo.example/', 'https://zoo.example/path', 'ftp://zoo.example', ' , ']) {
    t.throws(() => loadConfig({ CORS_ORIGINS: bad }), { name: 'ConfigError', message: /^CORS_ORIGINS: / }, JSON.stringify(bad))
  }
  t.throws(() => loadConfig({ JWT_MAX_TTL_SECONDS: '10' }), { message: /^JWT_MAX_TTL_SECONDS: / }, 'a lifetime under a minute')
  t.throws(() => loadConfig({ CURSOR_SECRET: 'short' }), { message: /^CURSOR_SECRET: / })
})
