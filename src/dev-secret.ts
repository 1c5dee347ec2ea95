// Secrets the server needs when none is configured: generated once and kept under DATA_DIR, so the
// server and `npm run token` (same env rules) agree, and tokens and cursors survive restarts.
import { hkdfSync, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from './config.ts'

export const DEV_SECRET_FILE = 'jwt-secret'
export const CURSOR_SECRET_FILE = 'cursor-secret'

/** The HS256 secret: JWT_SECRET, else the development secret under DATA_DIR. */
export async function resolveJwtSecret(config: Config): Promise<{ secret: string; generated: boolean }> {
  if (config.auth.secret) return { secret: config.auth.secret, generated: false }
  return { secret: await generatedSecret(config.dataDir, DEV_SECRET_FILE), generated: true }
}

/**
 * The key pagination cursors are signed with, derived (HKDF) from CURSOR_SECRET, else from
 * JWT_SECRET, else from a secret generated under DATA_DIR. Derived, so a cursor's signature
 * reveals nothing about the JWT secret and is never a valid token signature.
 */
export async function resolveCursorKey(config: Config): Promise<Buffer> {
  const secret = config.cursorSecret ?? config.auth.secret ?? await generatedSecret(config.dataDir, CURSOR_SECRET_FILE)
  return Buffer.from(hkdfSync('sha256', secret, '', 'animal-chat-gateway/cursor/v1', 32))
}

async function generatedSecret(dataDir: string, name: string): Promise<string> {
  const file = join(dataDir, name)
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  try {
    // 'wx' fails if another process created it first; then theirs wins.
    await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' })
    return secret
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return (await readFile(file, 'utf8')).trim()
  }
}
