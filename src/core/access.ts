// Applies the access policy to stored things: looks the resource up and answers 404 for
// anything the caller may not read, so existence never leaks; 403 for a change to something the
// caller may read but whose role may never change it.
import { forbidden, notFound } from './errors.ts'
import { mayCancel, mayReadUser } from './policy.ts'
import type { StoragePort } from './ports.ts'
import type { TurnInfo } from './ports.ts'
import type { Caller, Session } from './types.ts'

export interface TurnLookup {
  describeTurn(turnId: string): Promise<TurnInfo | undefined>
}

export class AccessControl {
  private readonly storage: StoragePort
  private readonly turns: TurnLookup

  constructor(storage: StoragePort, turns: TurnLookup) {
    this.storage = storage
    this.turns = turns
  }

  async readableSession(caller: Caller, sessionId: string): Promise<Session> {
    const session = await this.storage.getSession(sessionId)
    if (!session || !(await mayReadUser(caller, session.userId, this.storage))) throw notFound(`session '${sessionId}'`)
    return session
  }

  /** The turn's info if the caller may read it (404 otherwise) and, for 'cancel', change it (403 otherwise). */
  async turn(caller: Caller, turnId: string, action: 'read' | 'cancel'): Promise<TurnInfo> {
    const info = await this.turns.describeTurn(turnId)
    if (!info || !(await mayReadUser(caller, info.userId, this.storage))) throw notFound(`turn '${turnId}'`)
    if (action === 'cancel' && !mayCancel(caller, info.userId)) throw forbidden('Only the turn\'s owner or an admin may cancel it')
    return info
  }
}
