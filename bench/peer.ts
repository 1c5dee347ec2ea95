// The benchmark's peer, the Portkey AI gateway (open source), installed on demand into
// bench/peer/ (git-ignored node_modules; bench/peer/package.json pins it and the Hono versions its
// own lockfile uses: newer @hono/node-server releases answer 500). Not a project dependency.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCommand, type Server } from './processes.ts'

const PEER_DIR = new URL('./peer/', import.meta.url).pathname
const ENTRY = `${PEER_DIR}node_modules/@portkey-ai/gateway/build/start-server.js`

/** Installs the peer into bench/peer/node_modules unless it is there (npm, about 30 s). */
export function installPeer(): void {
  if (existsSync(ENTRY)) return
  console.error('peer: installing @portkey-ai/gateway into bench/peer/ (once)')
  execFileSync('npm', ['install', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' })
}

/**
 * Starts Portkey (headless: no log console) on `port` and waits until it answers. Requests are
 * routed to the fake upstream with PORTKEY_HEADERS.
 */
export async function startPeer(port: number): Promise<Server> {
  installPeer()
  const server = await startCommand([ENTRY, `--port=${port}`, '--headless'], `http://127.0.0.1:${port}`, PEER_DIR)
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      await fetch(server.url) // any answer means it listens
      return server
    } catch {
      await sleep(100)
    }
  }
  await server.stop()
  throw new Error('Portkey did not answer within 30 s')
}

/** Headers that send a Portkey request to an OpenAI-compatible server at `upstreamUrl` (…/v1). */
export const portkeyHeaders = (upstreamUrl: string) => ({
  authorization: 'Bearer bench',
  'x-portkey-provider': 'openai',
  'x-portkey-custom-host': upstreamUrl,
})
