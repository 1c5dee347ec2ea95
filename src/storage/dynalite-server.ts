// Starts dynalite (a DynamoDB-compatible server on LevelDB) on a loopback port. Shared by the
// embedded store and the test helper.
import type { Server } from 'node:http'
import { createRequire } from 'node:module'

interface DynaliteOptions {
  path?: string
  createTableMs?: number
  deleteTableMs?: number
  updateTableMs?: number
}

interface LevelDatabase {
  open(): Promise<void>
  close(): Promise<void>
}

// dynalite ships no types; `level` is resolved through dynalite so it is the very copy it uses.
const requireFromHere = createRequire(import.meta.url)
const dynalite = requireFromHere('dynalite') as (options: DynaliteOptions) => Server
const { Level } = createRequire(requireFromHere.resolve('dynalite'))('level') as { Level: new (path: string) => LevelDatabase }

export interface DynaliteServer {
  endpoint: string
  port: number
  close(): Promise<void>
}

export class DataDirLockedError extends Error {
  constructor(path: string) {
    super(`The embedded DynamoDB data at ${path} is in use by another process (LevelDB allows one at a time). ` +
      'Stop the other server, or give this one its own DATA_DIR.')
    this.name = 'DataDirLockedError'
  }
}

/** In memory unless `path` is given; on a free port unless `port` is. Tables become ACTIVE at once. */
export async function listenDynalite(options: { path?: string; port?: number } = {}): Promise<DynaliteServer> {
  // dynalite opens LevelDB lazily and a lock failure then crashes the process from inside a
  // stream, so check the lock first, while the error can still be a clear message.
  if (options.path) await assertUnlocked(options.path)
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('dynalite did not bind a TCP port')
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()))
      // Keep-alive sockets of clients would otherwise hold the close open.
      server.closeAllConnections()
    }),
  }
}

async function assertUnlocked(path: string): Promise<void> {
  const db = new Level(path)
  try {
    await db.open()
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') throw new DataDirLockedError(path)
    throw err
  }
  await db.close()
}
