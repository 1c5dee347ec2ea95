import { authHeaders, gatewayEnv } from './gateway.ts'
import { cpuMsOf, startScript } from './processes.ts'
import { spawn } from 'node:child_process'
import { openSync } from 'node:fs'
const upstream = await startScript('bench/fake-upstream.ts')
const dyn = await startScript('bench/dynalite.ts')
const out = openSync('/tmp/gw-dyn.log', 'w')
const child = spawn(process.execPath, ['src/server.ts'], { env: { ...process.env, ...gatewayEnv(upstream.url, { STORAGE: 'dynamodb', DYNAMODB_ENDPOINT: dyn.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' }), PORT: '18182', HOST: '127.0.0.1' }, stdio: ['ignore', out, out] })
for (let i = 0; i < 100; i++) { try { if ((await fetch('http://127.0.0.1:18182/healthz')).ok) break } catch {} await new Promise((r) => setTimeout(r, 100)) }
const headers = { 'content-type': 'application/json', ...authHeaders() }
const body = JSON.stringify({ animalId: 'lion', message: 'bench burst chunks=10 delay=0' })
for (let i = 0; i < 5; i++) {
  const c0 = cpuMsOf(child.pid!), d0 = cpuMsOf(dyn.pid), t = performance.now()
  const res = await fetch('http://127.0.0.1:18182/convo_turn', { method: 'POST', headers, body })
  const j = await res.json() as any
  console.log(res.status, Math.round(performance.now() - t), 'ms; latencyMs', j.latencyMs, 'gw cpu', cpuMsOf(child.pid!) - c0, 'dyn cpu', cpuMsOf(dyn.pid) - d0)
}
child.kill(); await dyn.stop(); await upstream.stop()
