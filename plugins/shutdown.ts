import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { shuttingDown } from '../src/core/errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Drains the app for a shutdown (once; later calls get the same promise): every new request
     * is answered `shutting_down`, idle connections close, running turns finish within
     * SHUTDOWN_GRACE_MS (the rest are stored as failed), and each kiosk socket is closed with
     * 1012 (reconnect elsewhere) once its turns have ended. app.close() afterwards.
     */
    drain(): Promise<void>
  }
}

/**
 * Graceful shutdown. src/server.ts calls app.drain() on SIGTERM, then app.close(): the drain lasts
 * as long as it must, whereas Fastify bounds close hooks by its pluginTimeout (10 s; a drain
 * there failed with AVV_ERR_READY_TIMEOUT and the process exited 1). A bare app.close() (tests,
 * embedders) drains too, from preClose, within that bound.
 */
export default fp(
  async (app) => {
    let draining: Promise<void> | undefined
    const silent = silentConnections(app.server)
    // The first hook after the request id: a draining instance refuses everything in its own
    // shape (the /v1 routes' error handler gives it OpenAI's envelope; a WebSocket upgrade gets
    // it as the HTTP answer), and the connection closes after the answer. A callback hook, not an
    // async one: it runs on every request and costs only the test until a drain.
    app.addHook('onRequest', (request, reply, done) => {
      if (!draining) return done()
      reply.header('connection', 'close')
      // Node closes a connection after a `Connection: close` answer, but not an upgrade's socket,
      // which @fastify/websocket hands to Fastify (and whose own hook that closes it runs after this one).
      if (request.headers.upgrade !== undefined) {
        const { socket } = request.raw
        reply.raw.once('finish', () => socket.end(() => socket.destroy()))
      }
      done(shuttingDown())
    })
    app.decorate('drain', () => (draining ??= drain(app, silent)))
    app.addHook('preClose', () => app.drain())
  },
  { name: 'shutdown', dependencies: ['config', 'errors'] },
)

async function drain(app: FastifyInstance, silent: Set<Socket>): Promise<void> {
  const { server } = app
  // Idle keep-alive connections close now; busy ones once their answer is out (a 1 ms keep-alive).
  server.keepAliveTimeout = 1
  server.closeIdleConnections()
  for (const socket of silent) socket.destroy()
  for (const socket of app.kioskSockets) socket.restart()
  await app.engine.drain(app.config.streaming.shutdownGraceMs)
  // Sockets still open follow turns of other instances: those can be resumed elsewhere.
  for (const socket of app.kioskSockets) socket.restart(true)
  for (const socket of silent) socket.destroy()
}

/**
 * Connections that have not sent a request yet. Node counts them as busy (waiting for headers,
 * up to headersTimeout), so closeIdleConnections() leaves them and server.close() waits for them.
 */
function silentConnections(server: Server): Set<Socket> {
  const silent = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    silent.add(socket)
    socket.once('close', () => silent.delete(socket))
  })
  const spoke = (request: IncomingMessage) => { silent.delete(request.socket) }
  server.on('request', spoke)
  server.on('upgrade', spoke)
  return silent
}
