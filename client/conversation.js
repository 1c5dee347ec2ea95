// One visitor's conversation with one animal: it remembers the session, so each message continues
// it. A message sent before the first reply has named the session waits for it (otherwise each
// would start a session of its own).
import { Turn } from './turn.js'

export class Conversation {
  #client
  #last

  /**
   * @param {import('./gateway-client.js').GatewayClient} client
   * @param {{ animalId: string, sessionId?: string }} options
   */
  constructor(client, { animalId, sessionId }) {
    this.#client = client
    this.animalId = animalId
    this.sessionId = sessionId
    /** Every turn sent in this conversation, oldest first. */
    this.turns = []
  }

  /** Sends a message; the Turn streams the reply (queued while offline). */
  send(message) {
    const turn = new Turn({ animalId: this.animalId, message, sessionId: this.sessionId }, this.#client)
    // A session that has gone (deleted, or a store that forgot it) is replaced by a new one.
    turn.allowNewSession = true
    turn.on('metadata', (data) => { this.sessionId = data.sessionId })
    this.turns.push(turn)
    const previous = this.#last
    this.#last = turn
    if (this.sessionId || !previous || previous.isFinal) {
      this.#client.submit(turn)
      return turn
    }
    // Wait for the previous turn to name the session (or to end without one).
    turn.setState('queued')
    let started = false
    const go = () => {
      if (started || turn.isFinal) return
      started = true
      turn.sessionId = this.sessionId
      this.#client.submit(turn)
    }
    previous.once('metadata', () => queueMicrotask(go))
    previous.once('end', go)
    return turn
  }

  /** Cancels what is still running and forgets the session: the next message starts a new one. */
  reset() {
    for (const turn of this.turns) turn.cancel()
    this.turns = []
    this.#last = undefined
    this.sessionId = undefined
  }
}
