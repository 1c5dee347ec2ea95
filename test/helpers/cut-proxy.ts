// A TCP proxy between a client and the app that stands in for a kiosk's Wi-Fi: tests cut it.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import type { Test } from 'tap'

export interface CutProxy {
  /** http://127.0.0.1:<port>, the proxy's address. */
  url: string
  /** How many client connections it has accepted. */
  readonly connections: number
  /** Drops every open connection, both sides, at once. */
  cut(): void
}

export async function startCutProxy(t: Test, targetPort: number): Promise<CutProxy> {
  const sockets = new Set<Socket>()
  let connections = 0
  const proxy = createServer((client) => {
    connections++
    const upstream = connect(targetPort, '127.0.0.1')
    client.pipe(upstream).pipe(client)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    }
    // As a refused connection would: when the app is down (or one side goes), so does the other.
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())))
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    get connections() { return connections },
    cut() { for (const socket of sockets) socket.destroy() },
  }
}
