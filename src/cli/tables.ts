// `npm run tables -- --create`: creates the DynamoDB tables (keys, indexes, TTL) where the
// server would look for them: DYNAMODB_ENDPOINT, else AWS_REGION, else the embedded store
// under DATA_DIR. `--print` shows the definitions as JSON.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { createDynamoClient } from '../storage/dynamo-client.ts'
import { startEmbeddedDynamo } from '../storage/embedded.ts'
import { ensureTables, tableDefinitions } from '../storage/tables.ts'

const usage = `usage: npm run tables -- --create | --print
  --create  create the missing tables (on-demand capacity, indexes, TTL) at DYNAMODB_ENDPOINT,
            else in AWS_REGION, else in the embedded store under DATA_DIR
  --print   print the table definitions (CreateTable inputs and TTL attribute) as JSON`

try {
  const { values } = parseArgs({ options: { create: { type: 'boolean' }, print: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  const config = loadConfig()
  if (values.print) {
    console.log(JSON.stringify(tableDefinitions(config.storage.tables), null, 2))
  } else if (values.create) {
    await createTables(config)
  } else {
    console.log(usage)
    if (!values.help) process.exitCode = 2
  }
} catch (err) {
  console.error(`tables: ${(err as Error).message}`)
  process.exitCode = 1
}

async function createTables(config: ReturnType<typeof loadConfig>): Promise<void> {
  if (config.storage.mode === 'memory') throw new Error('STORAGE=memory keeps no tables; unset it to create DynamoDB tables')
  const { endpoint, region } = config.storage
  const embedded = endpoint === undefined && region === undefined ? await startEmbeddedDynamo(config.dataDir) : undefined
  const client = createDynamoClient({ endpoint: embedded?.endpoint ?? endpoint, region })
  try {
    const where = embedded ? `embedded store in ${config.dataDir}` : (endpoint ?? `AWS region ${region}`)
    console.log(`DynamoDB: ${where}`)
    for (const report of await ensureTables(client, config)) {
      console.log(`${report.created ? 'created' : 'exists '}  ${report.table}  (TTL: ${report.ttl})`)
    }
  } finally {
    client.destroy()
    await embedded?.close()
  }
}
