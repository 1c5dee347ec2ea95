// The embedded DynamoDB for installs without AWS: dynalite with its data under DATA_DIR, reached
// through the same DynamoDB client code as production. dynalite runs in a child process
// (dynalite-process.ts), so its CPU work is not the gateway's: in the same process it cost about
// ten times what the rest of a turn does, all of it on the event loop that streams the replies.
import { fork } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLog, type Log } from '../core/log.ts'
import { DataDirLockedError } from './dynalite-server.ts'
import type { DynaliteProcessMessage } from './dynalite-process.ts'

export interface EmbeddedDynamo {
  endpoint: string
  /** The child process's id (it ends when this process does, whatever the cause). */
  pid: number
  close(): Promise<void>
}

const SCRIPT = new URL('./dynalite-process.ts', import.meta.url)
/** How long close() waits for dynalite to close LevelDB before it kills the process. */
const CLOSE_TIMEOUT_MS = 5000

export async function startEmbeddedDynamo(dataDir: string, log: Log = silentLog): Promise<EmbeddedDynamo> {
  const path = join(dataDir, 'dynamodb')
  await mkdir(path, { recursive: true })
  // No execArgv: the parent's flags (--cpu-prof, a test runner's loaders) are not the store's.
  const child = fork(SCRIPT, [path], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
  // Not events.once: it would reject on an 'error' event (a failed kill or send), unhandled.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])))
  child.on('error', (err) => log.error({ err, path }, 'the embedded DynamoDB process failed'))
  const answer = await Promise.race([
    new Promise<DynaliteProcessMessage>((resolve) => child.once('message', (message) => resolve(message as DynaliteProcessMessage))),
    exited.then(([code, signal]) => ({ type: 'failed', locked: false, message: `the embedded DynamoDB exited at start-up (${signal ?? code})` }) as const),
    new Promise<never>((_, reject) => child.once('error', reject)), // it could not be started at all
  ])
  if (answer.type === 'failed') {
    await exited
    throw answer.locked ? new DataDirLockedError(path) : new Error(answer.message)
  }
  let closing = false
  void exited.then(([code, signal]) => {
    if (!closing) log.error({ code, signal, path }, 'the embedded DynamoDB stopped; storage is unavailable until the gateway restarts')
  })
  log.info({ path, endpoint: answer.endpoint, pid: child.pid }, 'embedded DynamoDB started')
  return {
    endpoint: answer.endpoint,
    pid: child.pid!,
    async close() {
      if (closing) return exited.then(() => undefined)
      closing = true
      if (child.exitCode !== null || child.signalCode !== null) return
      // Closing the channel is the signal to stop: dynalite closes LevelDB (releasing its lock) and exits.
      child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },
  }
}
