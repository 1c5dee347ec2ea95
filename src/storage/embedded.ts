// The embedded DynamoDB for installs without AWS: dynalite with its data under DATA_DIR, reached
// through the same DynamoDB client code as production.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLog, type Log } from '../core/log.ts'
import { listenDynalite } from './dynalite-server.ts'

export async function startEmbeddedDynamo(dataDir: string, log: Log = silentLog): Promise<{ endpoint: string; close(): Promise<void> }> {
  const path = join(dataDir, 'dynamodb')
  await mkdir(path, { recursive: true })
  const server = await listenDynalite({ path })
  log.info({ path, endpoint: server.endpoint }, 'embedded DynamoDB started')
  return { endpoint: server.endpoint, close: server.close }
}
