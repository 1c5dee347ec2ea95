// The embedded store (dynalite on disk under DATA_DIR) and createStorage's choice of adapter.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../src/config.ts'
import { silentLog } from '../src/core/log.ts'
import type { Session } from '../src/core/types.ts'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { DynamoStorage } from '../src/storage/dynamo.ts'
import { DataDirLockedError } from '../src/storage/dynalite-server.ts'
import { startEmbeddedDynamo } from '../src/storage/embedded.ts'
import { createStorage } from '../src/storage/index.ts'
import { ensureTables } from '../src/storage/tables.ts'
import { startDynalite } from './helpers/dynalite.ts'

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'storage-embedded-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function session(): Session {
  const now = new Date().toISOString()
  return { sessionId: randomUUID(), userId: 'alice', animalId: 'lion', createdAt: now, updatedAt: now, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 }
}

t.test('data written to the embedded store survives a restart on the same DATA_DIR', async (t) => {
  const dataDir = await tempDir(t)
  const config = loadConfig({ DATA_DIR: dataDir })
  const s = session()

  const first = await startEmbeddedDynamo(dataDir)
  const writer = new DynamoStorage({ client: createDynamoClient({ endpoint: first.endpoint }), tables: config.storage.tables, retentionDays: 1 })
  const admin = createDynamoClient({ endpoint: first.endpoint })
  await ensureTables(admin, config)
  admin.destroy()
  await writer.createSession(s)
  await writer.close()
  await first.close()
  t.ok((await stat(join(dataDir, 'dynamodb'))).isDirectory(), 'kept under DATA_DIR/dynamodb')

  const second = await startEmbeddedDynamo(dataDir)
  t.teardown(() => second.close())
  const reader = new DynamoStorage({ client: createDynamoClient({ endpoint: second.endpoint }), tables: config.storage.tables, retentionDays: 1 })
  t.teardown(() => reader.close())
  t.same(await reader.getSession(s.sessionId), s)
})

t.test('a DATA_DIR already in use is a clear error, not a crash', async (t) => {
  const dataDir = await tempDir(t)
  const running = await startEmbeddedDynamo(dataDir)
  t.teardown(() => running.close())
  await t.rejects(startEmbeddedDynamo(dataDir), DataDirLockedError)
  await t.rejects(startEmbeddedDynamo(dataDir), { message: /in use by another process.*DATA_DIR/ })
})

t.test('createStorage picks the adapter from config', async (t) => {
  t.test('STORAGE=memory', async (t) => {
    const { storage, close } = await createStorage(loadConfig({ STORAGE: 'memory' }), silentLog)
    t.equal(storage.kind, 'memory')
    await close()
  })

  t.test('STORAGE=dynamodb without endpoint or region is a config error', async (t) => {
    await t.rejects(createStorage(loadConfig({ STORAGE: 'dynamodb' }), silentLog), ConfigError)
  })

  t.test('DYNAMODB_ENDPOINT: that endpoint, tables created', async (t) => {
    const dynalite = await startDynalite()
    t.teardown(() => dynalite.close())
    const { storage, close } = await createStorage(loadConfig({ DYNAMODB_ENDPOINT: dynalite.endpoint }), silentLog)
    t.teardown(close)
    t.equal(storage.kind, 'dynamodb')
    await storage.ping()
    const s = session()
    await storage.createSession(s)
    const direct = new DynamoStorage({ client: createDynamoClient({ endpoint: dynalite.endpoint }), tables: loadConfig({}).storage.tables, retentionDays: 1 })
    t.teardown(() => direct.close())
    t.equal((await direct.getSession(s.sessionId))?.sessionId, s.sessionId, 'written to that endpoint')
  })

  t.test('auto, nothing configured: the embedded store under DATA_DIR, closed by close()', async (t) => {
    const dataDir = await tempDir(t)
    const config = loadConfig({ DATA_DIR: dataDir })
    const first = await createStorage(config, silentLog)
    const s = session()
    await first.storage.createSession(s)
    await first.close()
    const second = await createStorage(config, silentLog) // would be DataDirLockedError had close() left it open
    t.teardown(second.close)
    t.equal((await second.storage.getSession(s.sessionId))?.userId, 'alice')
  })
})

/** True while `pid` runs (a zombie, dead but not yet reaped by its new parent, has ended). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

t.test('the embedded store runs in its own process, and ends with the gateway', async (t) => {
  t.test('close() ends the process', async (t) => {
    const store = await startEmbeddedDynamo(await tempDir(t))
    t.not(store.pid, process.pid, 'not this process')
    t.ok(running(store.pid))
    await store.close()
    t.notOk(running(store.pid), 'gone after close()')
    await store.close() // a second close is harmless
  })

  t.test('a gateway killed with SIGKILL leaves no store behind', async (t) => {
    const dataDir = await tempDir(t)
    const script = `import { startEmbeddedDynamo } from ${JSON.stringify(new URL('../src/storage/embedded.ts', import.meta.url).href)}
      const store = await startEmbeddedDynamo(${JSON.stringify(dataDir)}); console.log(store.pid)`
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const [line] = await once(createInterface({ input: parent.stdout! }), 'line') as [string]
    const storePid = Number(line)
    t.ok(running(storePid), 'the store runs')
    parent.kill('SIGKILL')
    await once(parent, 'exit')
    const deadline = Date.now() + 10_000
    while (running(storePid) && Date.now() < deadline) await sleep(50)
    t.notOk(running(storePid), 'the store ended with its parent')
    // And it let go of LevelDB's lock: the same DATA_DIR opens again.
    const again = await startEmbeddedDynamo(dataDir)
    await again.close()
  })

  t.test('Ctrl-C (SIGINT to the process group) leaves the store to the gateway, which is still draining', async (t) => {
    const store = await startEmbeddedDynamo(await tempDir(t))
    t.teardown(() => store.close())
    process.kill(store.pid, 'SIGINT')
    await sleep(200)
    t.ok(running(store.pid), 'still running')
    const client = createDynamoClient({ endpoint: store.endpoint })
    t.teardown(() => client.destroy())
    await ensureTables(client, loadConfig({}))
  })
})
