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

t.test('--help prints the usage; --expires stays within JWT_MAX_TTL_SECONDS', async (t) => {
  const env = { DATA_DIR: t.testdir(), STORAGE: 'memory', LOG_LEVEL: 'silent' }
  const help = runToken(['--help'], env)
  t.equal(help.status, 0)
  t.match(help.stdout, /^usage: npm run token -- --sub <userId>/)
  t.match(help.stdout, /--expires/)
  const unknown = runToken(['--bogus'], env)
  t.equal(unknown.status, 1)
  t.match(unknown.stderr, /Unknown option '--bogus'\nusage:/, 'an unknown option shows the usage too')

  const tooLong = runToken(['--sub', 'alice', '--expires', '2d'], { ...env, JWT_MAX_TTL_SECONDS: '3600' })
  t.equal(tooLong.status, 1)
  t.match(tooLong.stderr, /longer than JWT_MAX_TTL_SECONDS \(3600 s\)/)
  t.match(runToken(['--sub', 'alice', '--expires', 'soon'], env).stderr, /--expires must be a duration/)

  const defaulted = runToken(['--sub', 'alice'], { ...env, JWT_MAX_TTL_SECONDS: '3600' })
  t.equal(defaulted.status, 0, defaulted.stderr)
  const app = await buildApp(loadConfig({ ...env, JWT_MAX_TTL_SECONDS: '3600' }))
  t.teardown(() => app.close())
  const token = defaulted.stdout.trim()
  const claims = app.jwt.decode<{ iat: number; exp: number }>(token)!
  t.equal(claims.exp - claims.iat, 3600, 'the default 12h is cut to the longest lifetime the server accepts')
  t.equal((await app.inject({ url: '/animals', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
})
