// Child processes of the benchmark: the fake upstream, the bare relays, dynalite and the gateway
// each run in their own process, so client and server CPU stay apart and RSS can be read per server.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Server {
  url: string
  pid: number
  /** Resident set size from /proc/<pid>/status, in bytes (with its child processes). */
  rss(): number
  /** CPU time used so far (user + system) from /proc/<pid>/stat, in ms (with its child processes). */
  cpuMs(): number
  stop(): Promise<void>
}

const ROOT = new URL('..', import.meta.url).pathname

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

/** The process and its children (the gateway's embedded store runs in one). */
function family(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return [pid, ...(children ? children.split(' ').map(Number) : [])]
  } catch {
    return [pid]
  }
}

const sum = (pids: number[], of: (pid: number) => number) => pids.reduce((total, pid) => {
  try {
    return total + of(pid)
  } catch {
    return total // a child that ended meanwhile
  }
}, 0)

function own(child: ChildProcess, url: string): Server {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    url,
    pid: child.pid!,
    // With its children: the embedded store's dynalite is the gateway's work too.
    rss: () => sum(family(child.pid!), rssOf),
    cpuMs: () => sum(family(child.pid!), cpuMsOf),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Starts a bench script that prints `ready <url>` once listening. */
export async function startScript(script: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, [script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
    lines.on('line', (line) => { if (line.startsWith('ready ')) resolve(line.slice(6)) })
  })
  child.removeAllListeners('exit')
  return own(child, url)
}

/** Starts `node <args>` in `cwd`, its output discarded; the caller checks it answers at `url`. */
export async function startCommand(args: string[], url: string, cwd: string): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  return own(child, url)
}

export interface GatewayOptions {
  port: number
  env: Record<string, string>
  /** Write a V8 CPU profile to this file (in bench/profiles/) when the gateway exits. */
  profileName?: string
  /** The checkout to run (default: this one); bench/ab-probe.ts runs another beside it. */
  cwd?: string
}

/** Starts `node src/server.ts` and waits until /healthz answers. */
export async function startGateway({ port, env, profileName, cwd = ROOT }: GatewayOptions): Promise<Server> {
  const flags = profileName ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles', `--cpu-prof-name=${profileName}`] : []
  const child = spawn(process.execPath, [...flags, 'src/server.ts'], {
    cwd,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'], // its pino logs (stdout) are written, then discarded
  })
  const url = `http://127.0.0.1:${port}`
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway in ${cwd} exited with ${child.exitCode} at start-up`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {
      if (attempt > 300) throw new Error(`the gateway in ${cwd} did not answer /healthz within 30 s`)
    }
    await sleep(100)
  }
  return own(child, url)
}
