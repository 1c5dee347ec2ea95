// The memory hub keeps finished turns for resumes (STREAM_BUFFER_TTL_MS), but never more than its
// limits: the turns that finished longest ago go first, so memory stays flat under any load.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { TurnEvent } from '../src/core/events.ts'
import type { TurnInfo } from '../src/core/ports.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'

const info = (): TurnInfo => ({
  turnId: randomUUID(), sessionId: randomUUID(), userId: 'kid', animalId: 'lion', animalName: 'Leo', model: 'offline',
  createdAt: '2030-01-01T00:00:00.000Z',
})

function runTurn(hub: MemoryTurnHub, reply: string, end = true): TurnInfo {
  const turn = info()
  const writer = hub.open(turn, new AbortController())
  writer.emit('metadata', { ...turn })
  writer.emit('message', { delta: reply, index: 0 })
  if (end) writer.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId })
  return turn
}

const replay = async (hub: MemoryTurnHub, turnId: string) => {
  const events: TurnEvent[] = []
  const subscription = await hub.attach(turnId, -1, (event) => events.push(event))
  return subscription && events.map((event) => event.type)
}

t.test('by count: the oldest finished turns go first; running turns are never dropped', async (t) => {
  const hub = new MemoryTurnHub({ bufferTtlMs: 60_000, limits: { maxFinished: 3 } })
  t.teardown(() => hub.close())
  const running = runTurn(hub, 'still talking', false)
  const turns = Array.from({ length: 5 }, () => runTurn(hub, 'Roar!'))
  t.equal(hub.finished.logs, 3)
  t.equal(await replay(hub, turns[0].turnId), undefined, 'the first finished is gone (a resume is answered from storage)')
  t.equal(await replay(hub, turns[1].turnId), undefined)
  t.same(await replay(hub, turns[4].turnId), ['metadata', 'message', 'storage'], 'the newest are replayed')
  t.same(await replay(hub, running.turnId), ['metadata', 'message'], 'the running turn stays')
  t.equal(await hub.cancel(running.turnId), true)
})

t.test('by bytes: long replies take more room', async (t) => {
  const hub = new MemoryTurnHub({ bufferTtlMs: 60_000, limits: { maxFinishedBytes: 100_000 } })
  t.teardown(() => hub.close())
  const long = 'a'.repeat(5000) // about 30 KB counted
  for (let i = 0; i < 10; i++) runTurn(hub, long)
  t.ok(hub.finished.bytes <= 100_000, `under the bound (${hub.finished.bytes})`)
  t.equal(hub.finished.logs, 3)
})

t.test('a finished turn still expires after the TTL, and its bytes are given back', async (t) => {
  const hub = new MemoryTurnHub({ bufferTtlMs: 50 })
  t.teardown(() => hub.close())
  const turn = runTurn(hub, 'Roar!')
  t.equal(hub.finished.logs, 1)
  await new Promise((resolve) => setTimeout(resolve, 120))
  t.equal(await replay(hub, turn.turnId), undefined)
  t.same(hub.finished, { logs: 0, bytes: 0 })
})
