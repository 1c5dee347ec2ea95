// A dynalite server for tests, on a free loopback port: in memory, or on disk when `path` is
// given. `stop()` + `restart()` take it down and bring it back on the same port and path, for
// outage and recovery tests (with `path`, the data survives the restart).
import { listenDynalite } from '../../src/storage/dynalite-server.ts'

export interface TestDynalite {
  endpoint: string
  port: number
  /** Stops the server; the port stays reserved for restart(). */
  stop(): Promise<void>
  /** Starts it again on the same port (and path). */
  restart(): Promise<void>
  /** Stops it if running; safe to call twice (use it in t.teardown). */
  close(): Promise<void>
}

export async function startDynalite(opts: { path?: string; port?: number } = {}): Promise<TestDynalite> {
  let server: Awaited<ReturnType<typeof listenDynalite>> | undefined = await listenDynalite(opts)
  const port = server.port
  const stop = async () => {
    const running = server
    server = undefined
    await running?.close()
  }
  return {
    endpoint: server.endpoint,
    port,
    stop,
    close: stop,
    async restart() {
      if (server) throw new Error('dynalite is still running; stop() it first')
      server = await listenDynalite({ path: opts.path, port })
    },
  }
}
