// Data rights: erasing everything stored about a session or a user, with every trace a resume
// could replay, and walking all of a user's sessions for an export.
import type { ExportedUserSession } from './export-format.ts'
import type { Deletion, StoragePort } from './ports.ts'
import type { TurnHub } from './ports.ts'

/** Sessions read per storage request while walking a user's sessions (the most a page may hold). */
const SESSIONS_PER_PAGE = 100

/** Storage first (a turn finishing meanwhile then finds its session gone), then the resume buffers on every instance. */
export async function eraseSession(storage: StoragePort, hub: TurnHub, sessionId: string): Promise<Deletion> {
  const deletion = await storage.deleteSession(sessionId)
  await hub.purge({ sessionId, turnIds: deletion.turnIds })
  return deletion
}

/** Every session, turn, claim and safety event of the user; running turns of the user are aborted. */
export async function eraseUser(storage: StoragePort, hub: TurnHub, userId: string): Promise<Deletion> {
  const deletion = await storage.deleteUserData(userId)
  await hub.purge({ userId, turnIds: deletion.turnIds })
  return deletion
}

/** Each of the user's sessions with its animal's name and its turns, most recently active first. */
export async function* userSessions(storage: StoragePort, userId: string): AsyncGenerator<ExportedUserSession> {
  const names = new Map<string, string>()
  let cursor: string | undefined
  do {
    const page = await storage.listSessions({ userId, limit: SESSIONS_PER_PAGE, cursor })
    for (const session of page.items) {
      if (!names.has(session.animalId)) names.set(session.animalId, (await storage.getAnimal(session.animalId))?.name ?? session.animalId)
      yield { session, animalName: names.get(session.animalId)!, turns: storage.iterateTurns(session.sessionId) }
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor)
}
