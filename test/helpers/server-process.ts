// `node src/server.ts` as a child process, as an operator runs it: for tests that send it signals,
// kill it or read its memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { TEST_JWT_SECRET } from './app.ts'
import { eventually } from './stream.ts'

export interface ServerProcess {
  child: ChildProcess
  url: string
  wsUrl: string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  /** The process's resident set size now, in bytes (VmRSS in /proc/<pid>/status). */
  rss(): Promise<number>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts the server with `env` (on top of a free port, a test JWT secret and LOG_LEVEL warn) and waits until it serves. */
export async function startServerProcess(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['src/server.ts'], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: TEST_JWT_SECRET, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60000)
  return {
    child,
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    exited,
    async rss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024
    },
  }
}
