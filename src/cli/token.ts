// `npm run token -- --sub alice --role parent [--expires 12h]`: prints a JWT signed with the same
// secret the server uses (JWT_SECRET, or the development secret under DATA_DIR), with JWT_ISSUER /
// JWT_AUDIENCE as iss / aud when they are set, and an `exp` within JWT_MAX_TTL_SECONDS.
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { loadConfig } from '../config.ts'
import { ROLES, type Role } from '../core/types.ts'
import { resolveJwtSecret } from '../dev-secret.ts'

const DEFAULT_SECONDS = 12 * 3600

const usage = `usage: npm run token -- --sub <userId> [--role <${ROLES.join('|')}>] [--expires <duration>]

Prints a JWT the server accepts, signed with JWT_SECRET (or the development secret under DATA_DIR).
  --sub      the user id (the token's sub), required
  --role     ${ROLES.join(', ')} (default user)
  --expires  lifetime: seconds, or a number with s, m, h or d (default 12h, or JWT_MAX_TTL_SECONDS if
             shorter); at most JWT_MAX_TTL_SECONDS (default 86400 = 24h)
  --help     this text`

/** '90' → 90, '30m' → 1800, '12h' → 43200, '2d' → 172800; undefined for anything else. */
function durationSeconds(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text.trim())
  if (!match) return undefined
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd']
}

try {
  const { values } = parseArgs({ options: { sub: { type: 'string' }, role: { type: 'string', default: 'user' }, expires: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    console.log(usage)
    process.exit(0)
  }
  if (!values.sub?.trim()) throw new Error(`--sub is required\n${usage}`)
  if (!ROLES.includes(values.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}\n${usage}`)
  const config = loadConfig()
  const { maxTtlSeconds } = config.auth
  const seconds = values.expires === undefined ? Math.min(DEFAULT_SECONDS, maxTtlSeconds) : durationSeconds(values.expires)
  if (seconds === undefined || seconds < 1) throw new Error(`--expires must be a duration such as 3600, 30m, 12h or 1d\n${usage}`)
  if (seconds > maxTtlSeconds) throw new Error(`--expires ${values.expires} is longer than JWT_MAX_TTL_SECONDS (${maxTtlSeconds} s): the server would refuse the token`)
  if (config.auth.publicKey) throw new Error('JWT_PUBLIC_KEY is set: tokens come from your identity provider, this tool signs only HS256 tokens')
  const { secret } = await resolveJwtSecret(config)
  const { issuer, audience } = config.auth
  const sign = createSigner({
    key: secret, algorithm: 'HS256', expiresIn: seconds * 1000,
    // The server requires these claims when they are configured.
    ...(issuer ? { iss: issuer } : {}),
    ...(audience ? { aud: audience } : {}),
  })
  console.log(sign({ sub: values.sub, role: values.role }))
} catch (err) {
  const { code, message } = err as Error & { code?: string }
  console.error(code?.startsWith('ERR_PARSE_ARGS') ? `${message}\n${usage}` : message)
  process.exit(1)
}
