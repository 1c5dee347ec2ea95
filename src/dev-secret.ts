// The HS256 secret when JWT_SECRET is not set: generated once and kept under DATA_DIR, so the
// server and `npm run token` (same env rules) agree, and tokens survive restarts.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from './config.ts'

export const DEV_SECRET_FILE = 'jwt-secret'

export async function resolveJwtSecret(config: Config): Promise<{ secret: string; generated: boolean }> {
  if (config.auth.secret) return { secret: config.auth.secret, generated: false }
  const file = join(config.dataDir, DEV_SECRET_FILE)
  try {
    return { secret: (await readFile(file, 'utf8')).trim(), generated: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(config.dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  try {
    // 'wx' fails if another process created it first; then theirs wins.
    await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' })
    return { secret, generated: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return { secret: (await readFile(file, 'utf8')).trim(), generated: true }
  }
}
