// `npm run token` signs with the same secret the server uses: JWT_SECRET, or the dev secret under DATA_DIR.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'

const runToken = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['src/cli/token.ts', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20000 })

t.test('a token from the CLI is accepted by a server using the generated dev secret', async (t) => {
  const env = { DATA_DIR: t.testdir(), STORAGE: 'memory', LOG_LEVEL: 'silent' }
  const cli = runToken(['--sub', 'alice', '--role', 'parent'], env)
  t.equal(cli.status, 0, cli.stderr)
  const token = cli.stdout.trim()
  const app = await buildApp(loadConfig(env))
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/animals', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  const claims = app.jwt.decode<{ sub: string; role: string; exp: number }>(token)!
  t.match(claims, { sub: 'alice', role: 'parent', exp: Number })
})

t.test('a token from the CLI with JWT_SECRET verifies against that secret only', async (t) => {
  const env = { DATA_DIR: t.testdir(), STORAGE: 'memory', LOG_LEVEL: 'silent', JWT_SECRET: 'x'.repeat(40) }
  const token = runToken(['--sub', 'bob'], env).stdout.trim()
  const app = await buildApp(loadConfig({ ...env, JWT_SECRET: 'y'.repeat(40) }))
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/animals', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401)
})

t.test('with JWT_ISSUER and JWT_AUDIENCE the CLI token carries them and is accepted', async (t) => {
  const env = { DATA_DIR: t.testdir(), STORAGE: 'memory', LOG_LEVEL: 'silent', JWT_ISSUER: 'https://id.zoo.example', JWT_AUDIENCE: 'animal-chat' }
  const token = runToken(['--sub', 'carol'], env).stdout.trim()
  const app = await buildApp(loadConfig(env))
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/animals', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  t.match(app.jwt.decode(token), { iss: 'https://id.zoo.example', aud: 'animal-chat' })
})

t.test('bad arguments exit non-zero with usage', async (t) => {
  const env = { DATA_DIR: t.testdir() }
  const noSub = runToken([], env)
  t.equal(noSub.status, 1)
  t.match(noSub.stderr, /--sub is required/)
  const badRole = runToken(['--sub', 'x', '--role', 'king'], env)
  t.equal(badRole.status, 1)
  t.match(badRole.stderr, /--role must be one of/)
})
