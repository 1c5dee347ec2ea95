// moto_server (a DynamoDB-compatible endpoint that, unlike dynalite, has TransactWriteItems) on a
// free loopback port, for tests of the transactional paths.
import { spawn } from 'node:child_process'
import type { Test } from 'tap'
import { freePort } from './server-process.ts'
import { eventually } from './stream.ts'

export async function startMoto(t: Test): Promise<{ endpoint: string }> {
  const port = await freePort()
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  const endpoint = `http://127.0.0.1:${port}`
  await eventually(async () => ((await fetch(`${endpoint}/moto-api/`).catch(() => undefined)) ? true : undefined), 30000)
  return { endpoint }
}
