// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: the functions with the
// most self time, and self time by package. Only samples inside `window` count (monotonic clock
// in microseconds, the clock V8 stamps samples with), so start-up is left out.
// `node bench/profile-summary.ts file.cpuprofile [count]` lists the whole profile.
import { readFileSync } from 'node:fs'
import { table } from './stats.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Window {
  fromUs: number
  toUs: number
}

/** Now on the monotonic clock V8 uses for profile timestamps, in microseconds. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

export function topFunctions(path: string, count: number, window?: Window): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const functions = new Map<string, number>()
  const packages = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1)
  let total = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i]
    if (window && (at < window.fromUs || at > window.toUs)) return
    const { functionName, url } = byId.get(id)!.callFrame
    add(functions, nameOf(byId.get(id)!))
    add(packages, packageOf(url, functionName))
    // Total time: every distinct function on the sample's stack.
    const onStack = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) onStack.add(nameOf(byId.get(node)!))
    for (const name of onStack) if (!GENERIC.test(name)) add(inclusive, name)
    total++
  })
  const rows = (map: Map<string, number>, n: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, hits]) => [`\`${name}\``, `${((hits / total) * 100).toFixed(1)}%`])
  return [
    `${total} samples.`,
    '',
    table(['function (self time)', 'share'], rows(functions, count)),
    '',
    table(['package (self time)', 'share'], rows(packages, 10)),
    '',
    table(['function (total time, callees included)', 'share'], rows(inclusive, count)),
  ].join('\n')
}

/** Frames on nearly every stack, which say nothing about where the time goes. */
const GENERIC = /^\((root|program|idle|garbage collector)\)|^(processTicksAndRejections|runMicrotasks|listOnTimeout|processTimers|processImmediate|emit|(anonymous)) node:/

function nameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|plugins|schemas|bench)\//, '$1/')
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`
}

/** `openai`, `fastify`, `gateway (src)`, `node internals`, `(idle)`, `(garbage collector)`... */
function packageOf(url: string, functionName: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1]
  if (/\/(src|plugins|schemas)\//.test(url)) return 'gateway (src, plugins)'
  if (url.startsWith('node:')) return 'node internals (JS)'
  return url ? url : functionName.startsWith('(') ? functionName : 'native (V8 / libuv builtins)'
}

if (import.meta.main) {
  const [path, count] = process.argv.slice(2)
  console.log(topFunctions(path, Number(count ?? 25)))
}
