// Picks the storage adapter from config: memory, a DynamoDB endpoint, AWS, or (by default)
// the embedded DynamoDB under DATA_DIR. Tables are created when missing in every DynamoDB mode.
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { AnalyticsStore } from '../analytics/store.ts'
import { ConfigError, type Config } from '../config.ts'
import type { Log } from '../core/log.ts'
import type { StoragePort } from '../core/ports.ts'
import { resolveCursorKey } from '../dev-secret.ts'
import { CursorCodec } from './cursor.ts'
import { DynamoAnalyticsStore } from './analytics-dynamo.ts'
import { MemoryAnalyticsStore } from './analytics-memory.ts'
import { createDynamoClient } from './dynamo-client.ts'
import { DynamoStorage } from './dynamo.ts'
import { startEmbeddedDynamo } from './embedded.ts'
import { MemoryStorage } from './memory.ts'
import { RetentionSweeper } from './retention.ts'
import { ensureTables } from './tables.ts'

export interface StorageHandle {
  storage: StoragePort
  /** The per-animal, per-day counters (same backend as `storage`). */
  analytics: AnalyticsStore
  /** Closes the client, then the embedded server if one was started. */
  close(): Promise<void>
}

export async function createStorage(config: Config, log: Log): Promise<StorageHandle> {
  const { mode, endpoint, region } = config.storage
  const cursors = new CursorCodec(await resolveCursorKey(config))
  if (mode === 'memory') {
    const storage = new MemoryStorage({ cursors })
    return { storage, analytics: new MemoryAnalyticsStore(), close: () => storage.close() }
  }
  if (mode === 'dynamodb' && endpoint === undefined && region === undefined) {
    throw new ConfigError('STORAGE=dynamodb needs DYNAMODB_ENDPOINT or AWS_REGION (or use STORAGE=auto for the embedded store)')
  }
  const embedded = endpoint === undefined && region === undefined ? await startEmbeddedDynamo(config.dataDir, log) : undefined
  const client = createDynamoClient({ endpoint: embedded?.endpoint ?? endpoint, region })
  const storage = new DynamoStorage({ client, tables: config.storage.tables, retentionDays: config.storage.retentionDays, log, cursors })
  const analytics = new DynamoAnalyticsStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    table: config.storage.tables.analytics,
    retentionDays: config.storage.analyticsRetentionDays,
  })
  let sweeper: RetentionSweeper | undefined
  const close = async () => {
    await sweeper?.close()
    await storage.close()
    await embedded?.close()
  }
  try {
    const reports = await ensureTables(client, config, log)
    // No TTL on this endpoint (dynalite): expired items are deleted by our own sweep instead.
    if (reports.some((report) => report.ttl === 'unsupported')) {
      sweeper = new RetentionSweeper(storage, config.storage.retentionSweepMs, log)
      log.info({ everyMs: config.storage.retentionSweepMs }, 'no TTL on this endpoint: expired items are swept by the gateway')
    }
  } catch (err) {
    await close()
    throw err
  }
  log.info({ endpoint: embedded ? 'embedded' : (endpoint ?? `aws:${region}`) }, 'DynamoDB storage ready')
  return { storage, analytics, close }
}
