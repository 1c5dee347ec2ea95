// A session's summary, for POST /summarize_convo: the model (or the offline responder) reads the
// session's turns and writes a few sentences, which are stored on the session and returned.
import { AppError, notFound } from './errors.ts'
import { describeFlaggedTurns } from './flags.ts'
import type { LlmProvider, StoragePort } from './ports.ts'
import type { Session, Turn, Usage } from './types.ts'

/** `model` of a summary nobody had to write: the session has no completed exchange yet. */
export const NO_MODEL = 'none'

export interface SessionSummary {
  sessionId: string
  summary: string
  /** The session's stored turns when the summary was made, cancelled and failed ones included
   * (Session.messageCount / 2), so a client can tell whether a stored summary is out of date. */
  turnCount: number
  model: string
  /** Absent when no model was asked. */
  usage?: Usage
  createdAt: string
}

/**
 * Summarises a session the caller may read (the route checked). A session without a completed
 * exchange gets a kind "nothing yet" without asking the model, and nothing is stored.
 * `signal` aborts the model request (the client went away). Whoever wrote it, a summary ends
 * with one sentence naming every flagged turn: a summary never hides one.
 */
export async function summarizeSession(storage: StoragePort, llm: LlmProvider, session: Session, signal: AbortSignal): Promise<SessionSummary> {
  const animal = await storage.getAnimal(session.animalId)
  if (!animal) throw notFound(`animal '${session.animalId}'`)
  const turns: Turn[] = []
  for await (const turn of storage.iterateTurns(session.sessionId)) turns.push(turn)
  const base = { sessionId: session.sessionId, turnCount: turns.length, createdAt: new Date().toISOString() }

  const flags = describeFlaggedTurns(turns)
  const withFlags = (summary: string) => (flags ? `${summary} ${flags}` : summary)
  if (!turns.some((turn) => turn.status === 'complete')) {
    return { ...base, summary: withFlags(`Nothing to summarise yet: the visitor has not finished a chat with ${animal.name} the ${animal.species}.`), model: NO_MODEL }
  }
  const result = await llm.summarize(animal, turns, signal).catch((err: unknown) => {
    // Nobody is waiting for the answer: a quiet 499 rather than an "unhandled error" in the logs.
    if (signal.aborted) throw new AppError('client_closed_request', 'The client went away before the summary was ready')
    throw err
  })
  const summary = withFlags(result.summary)
  await storage.saveSummary(session.sessionId, summary, turns.length)
  return { ...base, summary, model: result.model, usage: result.usage }
}
