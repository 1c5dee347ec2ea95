// How the engine starts a turn in an existing session: the reads the prompt needs go to storage
// together, so a turn waits for one storage round trip before the model is asked, not three.
import t, { type Test } from 'tap'
import { AccessControl } from '../src/core/access.ts'
import { ConversationEngine } from '../src/core/engine.ts'
import { AppError } from '../src/core/errors.ts'
import { silentLog } from '../src/core/log.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'
import { TurnService } from '../src/core/turns.ts'
import type { Animal, Caller } from '../src/core/types.ts'
import { OfflineResponder } from '../src/llm/offline.ts'
import { MemoryStorage } from '../src/storage/memory.ts'
import { turnResult } from '../src/streaming/json.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }

/** The memory store, with every read held back until release(): what is asked at once shows. */
class HeldReads extends MemoryStorage {
  held = false
  readonly pending: string[] = []
  #release: Array<() => void> = []

  release(): void {
    this.held = false
    for (const go of this.#release.splice(0)) go()
  }

  async #gate(name: string): Promise<void> {
    if (!this.held) return
    this.pending.push(name)
    await new Promise<void>((resolve) => this.#release.push(resolve))
  }

  override async getAnimal(animalId: string) {
    await this.#gate('getAnimal')
    return super.getAnimal(animalId)
  }

  override async getSession(sessionId: string) {
    await this.#gate('getSession')
    return super.getSession(sessionId)
  }

  override async recentTurns(sessionId: string, count: number) {
    await this.#gate('recentTurns')
    return super.recentTurns(sessionId, count)
  }
}

const caller: Caller = { sub: 'kid-1', role: 'user' }

async function setUp(t: Test) {
  const storage = new HeldReads()
  await storage.seedAnimals(seed as Animal[])
  const hub = new MemoryTurnHub({ bufferTtlMs: 60_000 })
  const engine = new ConversationEngine({ storage, llm: new OfflineResponder(), hub, log: silentLog, contextMessages: 10, maxConcurrentTurnsPerUser: 5 })
  t.teardown(() => engine.drain(0).then(() => hub.close()))
  // A session with one finished turn in it.
  const turns = new TurnService(engine, new AccessControl(storage, engine))
  const first = await turns.start(caller, { animalId: 'lion', message: 'Hello Leo' })
  await turnResult(first)
  return { storage, engine, turns, sessionId: first.sessionId }
}

t.test('the animal, the session and its context are read at once', async (t) => {
  const { storage, turns, sessionId } = await setUp(t)
  storage.held = true
  const starting = turns.start(caller, { animalId: 'lion', sessionId, message: 'What do you eat?' })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(storage.pending.toSorted(), ['getAnimal', 'getSession', 'recentTurns'], 'all three asked before any answered')
  storage.release()
  const result = await turnResult(await starting)
  t.equal(result.sessionId, sessionId, 'the turn went on in the same session')
})

t.test('someone else\'s session is still not found; a session with another animal is still a 400', async (t) => {
  const { engine, sessionId } = await setUp(t)
  await t.rejects(engine.startTurn({ sub: 'kid-2', role: 'user' }, { animalId: 'lion', sessionId, message: 'Hi' }), new AppError('not_found', `session '${sessionId}' not found`, { field: 'sessionId' }))
  await t.rejects(engine.startTurn(caller, { animalId: 'penguin', sessionId, message: 'Hi' }), { name: 'AppError', message: /^animalId: / })
})
