// The six DynamoDB tables, their keys and indexes, and ensureTables() which creates what is
// missing. docs/storage.md explains which access pattern each key and index serves.
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../config.ts'
import { silentLog, type Log } from '../core/log.ts'

/** Epoch seconds after which DynamoDB's TTL sweeper may delete the item. */
export const TTL_ATTRIBUTE = 'expiresAt'

/** Global secondary indexes of the sessions table; all sort by `updatedAt`. */
export const SESSION_INDEXES = {
  byUser: 'byUser',
  byAnimal: 'byAnimal',
  /** Every session under one constant partition (`activityBucket`), for the unfiltered admin list. */
  byActivity: 'byActivity',
} as const

/** The constant `activityBucket` value; see docs/storage.md for the hot-partition trade-off. */
export const ACTIVITY_BUCKET = 'all'

/**
 * Global secondary indexes of the safety table, all sorted by `order` (the item kind, then time:
 * `EVENT#<createdAt>#<turnId>#<n>` or `SESSION#<flaggedAt>#<sessionId>`).
 */
export const SAFETY_INDEXES = {
  byUser: 'byUser',
  byAnimal: 'byAnimal',
  /** `bucket`: an event's severity, or `flagged` for the flagged-session markers. */
  byBucket: 'byBucket',
} as const

export type TableNames = Config['storage']['tables']

export interface TableDefinition {
  input: CreateTableCommandInput & { TableName: string }
  /** Set on tables whose items expire through DynamoDB TTL. */
  ttlAttribute?: string
}

const S = 'S' as const

/** A global secondary index projecting every attribute. */
function gsi(name: string, partitionKey: string, sortKey = 'updatedAt') {
  return {
    IndexName: name,
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' as const },
      { AttributeName: sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  }
}

export function tableDefinitions(tables: TableNames): TableDefinition[] {
  return [
    {
      // Turns (pk SESSION#id, sk TURN#createdAt#turnId), turn pointers (pk TURN#id) and
      // idempotency claims (pk CLIENT#user, sk CLAIM#clientTurnId), all under one generic key.
      input: {
        TableName: tables.conversations,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: S }, { AttributeName: 'sk', AttributeType: S }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
    {
      input: {
        TableName: tables.sessions,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'sessionId', AttributeType: S },
          { AttributeName: 'userId', AttributeType: S },
          { AttributeName: 'animalId', AttributeType: S },
          { AttributeName: 'activityBucket', AttributeType: S },
          { AttributeName: 'updatedAt', AttributeType: S },
        ],
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          gsi(SESSION_INDEXES.byUser, 'userId'),
          gsi(SESSION_INDEXES.byAnimal, 'animalId'),
          gsi(SESSION_INDEXES.byActivity, 'activityBucket'),
        ],
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
    {
      input: {
        TableName: tables.animals,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'animalId', AttributeType: S }],
        KeySchema: [{ AttributeName: 'animalId', KeyType: 'HASH' }],
      },
    },
    {
      // Safety events (pk USER#id, sk EVENT#createdAt#turnId#n) and flagged-session markers
      // (pk USER#id, sk SESSION#sessionId); see docs/storage.md.
      input: {
        TableName: tables.safety,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: S },
          { AttributeName: 'sk', AttributeType: S },
          { AttributeName: 'userId', AttributeType: S },
          { AttributeName: 'animalId', AttributeType: S },
          { AttributeName: 'bucket', AttributeType: S },
          { AttributeName: 'order', AttributeType: S },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        GlobalSecondaryIndexes: [
          gsi(SAFETY_INDEXES.byUser, 'userId', 'order'),
          gsi(SAFETY_INDEXES.byAnimal, 'animalId', 'order'),
          gsi(SAFETY_INDEXES.byBucket, 'bucket', 'order'),
        ],
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
    {
      input: {
        TableName: tables.families,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'parentId', AttributeType: S }, { AttributeName: 'childId', AttributeType: S }],
        KeySchema: [{ AttributeName: 'parentId', KeyType: 'HASH' }, { AttributeName: 'childId', KeyType: 'RANGE' }],
      },
    },
    {
      // One item of counters per animal per day (docs/analytics.md), expiring after ANALYTICS_RETENTION_DAYS.
      input: {
        TableName: tables.analytics,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'animalId', AttributeType: S }, { AttributeName: 'day', AttributeType: S }],
        KeySchema: [{ AttributeName: 'animalId', KeyType: 'HASH' }, { AttributeName: 'day', KeyType: 'RANGE' }],
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
  ]
}

/** What ensureTables did, per table. `ttl: 'unsupported'` means the endpoint has no TTL API (dynalite). */
export interface TableReport {
  table: string
  created: boolean
  ttl: 'enabled' | 'enabling' | 'unsupported' | 'failed' | 'not used'
}

const ACTIVE_WAIT_MS = 5 * 60_000

/**
 * Creates the missing tables (on-demand capacity), waits until they are ACTIVE and turns TTL on.
 * An existing table whose keys or indexes differ from the definition is an error: the code
 * would fail on it later in confusing ways, so start-up stops with the difference named.
 */
export async function ensureTables(client: DynamoDBClient, config: Pick<Config, 'storage'>, log: Log = silentLog): Promise<TableReport[]> {
  const reports: TableReport[] = []
  for (const definition of tableDefinitions(config.storage.tables)) {
    const name = definition.input.TableName
    let description = await describeTable(client, name)
    let created = false
    if (!description) {
      created = await createTable(client, definition)
      if (created) log.info({ table: name }, 'created DynamoDB table')
    }
    description = await waitUntilActive(client, name)
    assertMatches(definition, description)
    const ttl = definition.ttlAttribute ? await enableTtl(client, name, definition.ttlAttribute, log) : 'not used'
    reports.push({ table: name, created, ttl })
  }
  return reports
}

async function describeTable(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined
    throw err
  }
}

/** False when another instance created it first (we then simply wait for it). */
async function createTable(client: DynamoDBClient, definition: TableDefinition): Promise<boolean> {
  try {
    await client.send(new CreateTableCommand(definition.input))
    return true
  } catch (err) {
    if ((err as Error).name === 'ResourceInUseException') return false
    throw err
  }
}

async function waitUntilActive(client: DynamoDBClient, name: string): Promise<TableDescription> {
  const deadline = Date.now() + ACTIVE_WAIT_MS
  for (let attempt = 0; ; attempt++) {
    const table = await describeTable(client, name)
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table
    if (Date.now() > deadline) throw new Error(`DynamoDB table ${name} did not become ACTIVE within ${ACTIVE_WAIT_MS / 1000}s`)
    await sleep(Math.min(100 * 2 ** attempt, 2000))
  }
}

function assertMatches(definition: TableDefinition, table: TableDescription): void {
  const name = definition.input.TableName
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) =>
    (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',')
  const problems: string[] = []
  if (keys(table.KeySchema) !== keys(definition.input.KeySchema)) {
    problems.push(`key schema is ${keys(table.KeySchema)}, expected ${keys(definition.input.KeySchema)}`)
  }
  for (const wanted of definition.input.GlobalSecondaryIndexes ?? []) {
    const found = table.GlobalSecondaryIndexes?.find((index) => index.IndexName === wanted.IndexName)
    if (!found) problems.push(`index ${wanted.IndexName} is missing`)
    else if (keys(found.KeySchema) !== keys(wanted.KeySchema)) {
      problems.push(`index ${wanted.IndexName} is keyed ${keys(found.KeySchema)}, expected ${keys(wanted.KeySchema)}`)
    }
  }
  if (problems.length > 0) {
    throw new Error(`DynamoDB table ${name} exists but does not match this version: ${problems.join('; ')}. ` +
      'Point the table name variable at a new table, or migrate the data (see docs/storage.md).')
  }
}

async function enableTtl(client: DynamoDBClient, name: string, attribute: string, log: Log): Promise<TableReport['ttl']> {
  try {
    const current = await client.send(new DescribeTimeToLiveCommand({ TableName: name }))
    const status = current.TimeToLiveDescription?.TimeToLiveStatus
    if (status === 'ENABLED' || status === 'ENABLING') return status === 'ENABLED' ? 'enabled' : 'enabling'
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }))
    log.info({ table: name, attribute }, 'enabled DynamoDB TTL')
    return 'enabling'
  } catch (err) {
    // dynalite (the embedded store) has no UpdateTimeToLive: items keep their expiresAt and
    // simply are not swept. Anywhere else a failure here is worth a warning, not a failed start.
    if ((err as Error).name === 'UnknownOperationException') {
      log.info({ table: name }, 'this DynamoDB endpoint does not support TTL; expired items are not swept')
      return 'unsupported'
    }
    log.warn({ err, table: name }, 'could not enable DynamoDB TTL; enable it on the table by hand')
    return 'failed'
  }
}
