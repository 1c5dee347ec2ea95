// The engine's turn-end observers (analytics, telemetry): called once per turn, after its last
// event, with the turn's timings; a slow or failing observer never holds up or breaks a turn.
import t, { type Test } from 'tap'
import { AnalyticsRecorder } from '../src/analytics/recorder.ts'
import { AccessControl } from '../src/core/access.ts'
import type { AnalyticsStore } from '../src/analytics/store.ts'
import { ConversationEngine } from '../src/core/engine.ts'
import type { TurnEvent } from '../src/core/events.ts'
import type { Log } from '../src/core/log.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'
import type { TurnEnding } from '../src/core/turn-observer.ts'
import { TurnService } from '../src/core/turns.ts'
import type { Animal, Caller, Session, Turn } from '../src/core/types.ts'
import { OfflineResponder } from '../src/llm/offline.ts'
import { MemoryStorage } from '../src/storage/memory.ts'
import { turnResult } from '../src/streaming/json.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }

const caller: Caller = { sub: 'kid-1', role: 'user' }

async function setUp(t: Test, storage = new MemoryStorage(), log?: Log) {
  await storage.seedAnimals(seed as Animal[])
  const hub = new MemoryTurnHub({ bufferTtlMs: 60_000 })
  const errors: unknown[] = []
  const engine = new ConversationEngine({
    storage, llm: new OfflineResponder(), hub, contextMessages: 10, maxConcurrentTurnsPerUser: 5,
    log: log ?? { debug() {}, info() {}, warn() {}, error: (obj) => errors.push(obj) },
  })
  t.teardown(() => engine.drain(0).then(() => hub.close()))
  return { engine, turns: new TurnService(engine, new AccessControl(storage, engine)), errors }
}

/** Every event of a turn, in order, until its end. */
async function events(engine: ConversationEngine, turnId: string): Promise<TurnEvent[]> {
  const seen: TurnEvent[] = []
  await new Promise<void>((resolve) => {
    void engine.attach(turnId, -1, (event) => {
      seen.push(event)
      if (event.type === 'storage' || event.type === 'error') resolve()
    })
  })
  return seen
}

t.test('each turn is observed once, after its storage event, with ordered timings', async (t) => {
  const { engine, turns } = await setUp(t)
  const observed: { turn: Turn; ending: TurnEnding; afterLastEvent: boolean }[] = []
  let lastEventSeen = false
  engine.observeTurnEnds((turn, ending) => observed.push({ turn: { ...turn }, ending, afterLastEvent: lastEventSeen }))

  const first = await engine.startTurn(caller, { animalId: 'lion', message: 'What do you eat?' })
  const seen = await events(engine, first.turnId)
  lastEventSeen = seen.at(-1)!.type === 'storage'
  t.equal(observed.length, 0, 'not yet: observers run on a later tick')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(observed.length, 1)
  t.ok(observed[0]!.afterLastEvent, 'after the storage event went out')
  const { turn, ending } = observed[0]!
  t.equal(turn.turnId, first.turnId)
  t.equal(turn.status, 'complete')
  t.same([ending.animal.animalId, ending.newSession, ending.stored], ['lion', true, true])
  const { startedAt, modelStartedAt, firstChunkAt, modelEndedAt, endedAt } = ending.timing
  t.ok(startedAt <= modelStartedAt! && modelStartedAt! <= firstChunkAt! && firstChunkAt! <= modelEndedAt! && modelEndedAt! <= endedAt, 'in order')
  t.ok(Math.abs(startedAt - Date.now()) < 60_000, 'epoch milliseconds')

  await turnResult(await turns.start(caller, { animalId: 'lion', message: 'Where do you live?', sessionId: first.sessionId }))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(observed.map((o) => o.ending.newSession), [true, false], 'the second turn continued the session')
})

t.test('a cancelled turn is observed as stored and cancelled; an unstored one as not stored', async (t) => {
  class FailingSaves extends MemoryStorage {
    failSaves = false
    override async saveTurn(turn: Turn, newSession?: Session) {
      if (this.failSaves) throw new Error('disk full')
      return super.saveTurn(turn, newSession)
    }
  }
  const storage = new FailingSaves()
  const { engine } = await setUp(t, storage)
  const observed: [string, boolean][] = []
  engine.observeTurnEnds((turn, ending) => observed.push([turn.status, ending.stored]))
  const cancelled = await engine.startTurn(caller, { animalId: 'lion', message: 'Tell me a long story about your day' })
  await engine.cancel(cancelled.turnId)
  await events(engine, cancelled.turnId)
  storage.failSaves = true
  const lost = await engine.startTurn(caller, { animalId: 'lion', message: 'Hi' })
  await events(engine, lost.turnId)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(observed, [['cancelled', true], ['complete', false]])
})

t.test('a throwing observer is logged and the others still run; a store that never answers holds nothing up', async (t) => {
  const { engine, turns, errors } = await setUp(t)
  const never: AnalyticsStore = { add: () => new Promise(() => {}), days: async () => [] }
  const recorder = new AnalyticsRecorder({ store: never, understand: () => ({ topics: [], answerable: true }), sentiment: () => 'neutral', log: { debug() {}, info() {}, warn() {}, error() {} } })
  let reached = 0
  engine.observeTurnEnds(() => { throw new Error('observer bug') })
  engine.observeTurnEnds(recorder.observe)
  engine.observeTurnEnds(() => { reached++ })
  for (let i = 0; i < 3; i++) {
    const started = await turns.start(caller, { animalId: 'lion', message: `Question ${i}?` })
    const result = await turnResult(started)
    t.equal(result.turnId, started.turnId, `turn ${i} answered while its count is still pending`)
  }
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(reached, 3)
  t.equal(errors.length, 3, 'each failure logged')
  t.match(errors[0], { err: { message: 'observer bug' } })
})
