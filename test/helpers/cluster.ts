// Real processes for chaos tests: a redis-server of the test's own (stopped and started again
// on the same port, its data lost as a restart without persistence loses it) and gateway
// instances as child processes (`node src/server.ts`) that a test can SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { TEST_JWT_SECRET } from './app.ts'
import { freePort } from './server-process.ts'
import { eventually } from './stream.ts'

/** A fresh directory of its own (t.testdir() is one per test, and calling it again empties it). */
export function ownDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface TestRedisServer {
  url: string
  /** A client of the test's own (it reconnects after a restart). */
  client: Redis
  stop(): Promise<void>
  start(): Promise<void>
  /** SIGSTOP / SIGCONT: a Redis that hangs, connections open, answering nothing. */
  pause(): void
  resume(): void
  /** How many times Redis ran `command` (INFO commandstats), since it last started. */
  calls(command: string): Promise<number>
}

export async function startRedisServer(t: Test): Promise<TestRedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null })
    probe.on('error', () => {})
    await eventually(async () => (await probe.connect().then(() => true, () => undefined)), 10000)
    probe.disconnect()
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
  client.on('error', () => {})
  t.teardown(async () => {
    client.disconnect()
    await stop()
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async calls(command) {
      const stats = await client.info('commandstats')
      return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    },
  }
}

export interface Instance {
  url: string
  wsUrl: string
  child: ChildProcess
  exited: Promise<number | null>
  /** CPU time (user + system) the process used so far, in ms. */
  cpuMs(): number
}

/** `node src/server.ts` as its own process with `env`, ready to serve. */
export async function startInstance(t: Test, env: Record<string, string>): Promise<Instance> {
  const port = await freePort()
  const child = spawn(process.execPath, ['src/server.ts'], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: ownDir(t), LOG_LEVEL: 'error', JWT_SECRET: TEST_JWT_SECRET, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60000)
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    child,
    exited,
    cpuMs() {
      // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 per second).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return (Number(fields[11]) + Number(fields[12])) * 10
    },
  }
}

const sign = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })
export const bearer = (sub: string) => ({ authorization: `Bearer ${sign({ sub, role: 'user' })}` })
