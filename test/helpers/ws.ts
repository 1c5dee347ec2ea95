// A `ws` client for tests that collects frames and waits for the ones it needs.
import WebSocket from 'ws'

export interface Frame {
  type: string
  id: string | null
  turnId: string | null
  data: Record<string, unknown>
}

export class TestSocket {
  readonly socket: WebSocket
  readonly frames: Frame[] = []
  private waiters: Array<() => void> = []

  private constructor(socket: WebSocket) {
    this.socket = socket
    socket.on('message', (raw) => {
      this.frames.push(JSON.parse(raw.toString()))
      for (const wake of this.waiters.splice(0)) wake()
    })
    socket.on('close', () => { for (const wake of this.waiters.splice(0)) wake() })
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const socket = new WebSocket(url, { headers })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestSocket(socket)))
      socket.once('error', reject)
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    })
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Resolves with the first frame (from the start of the socket) matching `match`. */
  async waitFor(match: (frame: Frame) => boolean, timeoutMs = 10000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.find(match)
      if (found) return found
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting')
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Frames of one turn, once its final event (storage or error) arrived. */
  async turnFrames(turnId: string): Promise<Frame[]> {
    await this.waitFor((f) => f.turnId === turnId && (f.type === 'storage' || f.type === 'error'))
    return this.frames.filter((f) => f.turnId === turnId)
  }

  close(): void {
    this.socket.close()
  }
}
