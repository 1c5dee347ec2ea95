// One turn as the client sees it: its state, its text as it streams in, and the last event id
// it has seen. It takes each event at most once (by the event's sequence number), so a resume or
// a replayed retry can never show a word twice. The client (gateway-client.js) moves it between
// connections; the page only listens.
import { Emitter } from './emitter.js'
import { randomId } from './token.js'

/** States in which a turn will see no more events. */
const FINAL = new Set(['complete', 'failed', 'cancelled'])

export class Turn extends Emitter {
  /**
   * @param {{ animalId: string, message: string, sessionId?: string, clientTurnId?: string }} input
   * @param {{ cancel(turn: Turn): void }} owner the client that runs it
   */
  constructor(input, owner) {
    super()
    this.animalId = input.animalId
    this.message = input.message
    this.sessionId = input.sessionId
    /** The idempotency key of the current attempt (a retry after a failed generation gets a new one). */
    this.clientTurnId = input.clientTurnId ?? randomId()
    this.baseClientTurnId = this.clientTurnId
    /** 'queued' | 'sending' | 'streaming' | 'complete' | 'failed' | 'cancelled' */
    this.state = 'queued'
    this.turnId = undefined
    this.text = ''
    /** The id of the last event taken, for resume. */
    this.lastEventId = undefined
    this.metadata = undefined
    this.result = undefined
    this.safety = undefined
    /** false when the reply was shown but could not be stored (storage_failed). */
    this.saved = undefined
    this.error = undefined
    /** Retries so far (of a send refused before it started, or of a failed generation). */
    this.attempt = 0
    /** True once a `replace` event swapped the text for a safe one. */
    this.replaced = false
    this.cancelRequested = false
    this.owner = owner
    this.seq = -1
    this.done = new Promise((resolve) => { this.resolveDone = resolve })
  }

  get isFinal() {
    return FINAL.has(this.state)
  }

  /** Asks the server to stop this turn; the partial reply is stored as cancelled. */
  cancel() {
    if (this.isFinal) return
    this.cancelRequested = true
    this.owner.cancel(this)
  }

  /** The frame that starts (or, with the same clientTurnId, re-attaches to) this turn. */
  turnFrame() {
    return {
      type: 'turn',
      animalId: this.animalId,
      message: this.message,
      clientTurnId: this.clientTurnId,
      ...(this.sessionId ? { sessionId: this.sessionId } : {}),
    }
  }

  /**
   * Takes one event ({ type, id, data }); false when it was seen already (or belongs to an
   * attempt this turn left behind), so the caller can ignore it.
   */
  accept(event) {
    if (this.isFinal) return false
    const seq = seqOf(event.id)
    if (seq === undefined || seq <= this.seq) return false
    this.seq = seq
    this.lastEventId = event.id
    const { data } = event
    switch (event.type) {
      case 'metadata':
        this.turnId = data.turnId
        this.sessionId = data.sessionId
        this.metadata = data
        this.setState('streaming')
        this.emit('metadata', data)
        break
      case 'typing':
        this.emit('typing', data.state === 'start')
        break
      case 'message':
        this.setText(this.text + data.delta)
        this.emit('delta', data.delta)
        break
      case 'replace':
        // Text already shown was blocked after the fact: the safe text replaces all of it.
        this.replaced = true
        this.setText(String(data.reply ?? ''))
        this.emit('replace', data)
        break
      case 'complete':
        this.result = data
        this.safety = data.safety
        // The full reply is the authority, unless a replace already swapped in the safe text.
        if (!this.replaced && typeof data.reply === 'string') this.setText(data.reply)
        this.emit('complete', data)
        break
      case 'storage':
        this.saved = true
        this.finish('complete')
        break
      // `error` is left to the client, which knows whether to retry.
    }
    this.emit('event', event)
    return true
  }

  /** A new attempt after a failed generation: a fresh key, nothing seen, the text cleared. */
  restart() {
    this.attempt++
    this.clientTurnId = `${this.baseClientTurnId}.${this.attempt}`
    this.turnId = undefined
    this.seq = -1
    this.lastEventId = undefined
    this.replaced = false
    this.setText('')
    this.setState('queued')
  }

  setText(text) {
    if (text === this.text) return
    this.text = text
    this.emit('text', text)
  }

  setState(state) {
    if (state === this.state) return
    this.state = state
    this.emit('state', state)
  }

  /** Ends the turn: 'complete', 'failed' (with the error) or 'cancelled'. */
  finish(state, error) {
    if (this.isFinal) return
    if (error) this.error = error
    if (state === 'complete' && this.saved === undefined) this.saved = false
    this.setState(state)
    if (error && state === 'failed') this.emit('error', error)
    this.emit('end', this)
    this.resolveDone(this)
  }
}

/** `<turnId>:<seq>` → seq; undefined for anything else. */
export function seqOf(id) {
  if (typeof id !== 'string') return undefined
  const seq = Number(id.slice(id.lastIndexOf(':') + 1))
  return Number.isInteger(seq) && seq >= 0 ? seq : undefined
}
