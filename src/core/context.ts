// The turns a new question's context window is built from. Only completed turns count (see
// buildMessages), so when cancelled or failed turns sit among the recent ones, more are read
// until the window can be filled or the session has no older turns.
import type { StoragePort } from './ports.ts'
import type { Turn } from './types.ts'

/** The furthest back the context is looked for, in turns: a bound for sessions full of failures. */
export const MAX_CONTEXT_LOOKBACK_TURNS = 100

/** The session's recent turns, oldest first: enough completed ones for `contextMessages` messages. */
export async function contextTurns(storage: StoragePort, sessionId: string, contextMessages: number): Promise<Turn[]> {
  const needed = Math.floor(contextMessages / 2)
  if (needed === 0) return []
  // Twice what a session without failures needs, so one read is nearly always enough.
  let count = Math.min(needed * 2, MAX_CONTEXT_LOOKBACK_TURNS)
  for (;;) {
    const turns = await storage.recentTurns(sessionId, count)
    const complete = turns.filter((turn) => turn.status === 'complete').length
    if (complete >= needed || turns.length < count || count >= MAX_CONTEXT_LOOKBACK_TURNS) return turns
    count = Math.min(count * 2, MAX_CONTEXT_LOOKBACK_TURNS)
  }
}
