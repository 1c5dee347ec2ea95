// `npm run token -- --sub alice --role parent [--expires 12h]`: prints a JWT signed with the same
// secret the server uses (JWT_SECRET, or the development secret under DATA_DIR), with JWT_ISSUER /
// JWT_AUDIENCE as iss / aud when they are set.
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { loadConfig } from '../config.ts'
import { ROLES, type Role } from '../core/types.ts'
import { resolveJwtSecret } from '../dev-secret.ts'

const usage = `usage: npm run token -- --sub <userId> --role <${ROLES.join('|')}> [--expires 12h]`

try {
  const { values } = parseArgs({ options: { sub: { type: 'string' }, role: { type: 'string', default: 'user' }, expires: { type: 'string', default: '12h' } } })
  if (!values.sub) throw new Error(`--sub is required\n${usage}`)
  if (!ROLES.includes(values.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}\n${usage}`)
  const config = loadConfig()
  if (config.auth.publicKey) throw new Error('JWT_PUBLIC_KEY is set: tokens come from your identity provider, this tool signs only HS256 tokens')
  const { secret } = await resolveJwtSecret(config)
  const { issuer, audience } = config.auth
  const sign = createSigner({
    key: secret, algorithm: 'HS256', expiresIn: values.expires,
    // The server requires these claims when they are configured.
    ...(issuer ? { iss: issuer } : {}),
    ...(audience ? { aud: audience } : {}),
  })
  console.log(sign({ sub: values.sub, role: values.role }))
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}
