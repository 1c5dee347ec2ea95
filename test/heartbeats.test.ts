// Heartbeats: one timer for every connection's heartbeat. Each sweep calls every registered beat
// once, a slice at a time, yielding to the event loop between slices; close stops everything.
import t from 'tap'
import { Heartbeats } from '../src/streaming/heartbeats.ts'

const INTERVAL_MS = 5
/** More beats than fit in two slices. */
const MANY = 250

const heartbeatResources = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout' || name === 'Immediate').length

t.test('a sweep calls every beat once; a removed beat is not called again', async (t) => {
  const heartbeats = new Heartbeats(INTERVAL_MS)
  t.teardown(() => heartbeats.close())
  const calls = new Array<number>(MANY).fill(0)
  const last = MANY - 1
  // Checked at the end of each sweep (the last beat added is visited last).
  let endOfSweep = () => {}
  const remove = calls.map((_, i) => heartbeats.add(() => {
    calls[i]++
    if (i === last) endOfSweep()
  }))

  const sweeps = (count: number, check: () => void) => new Promise<void>((resolve) => {
    let seen = 0
    endOfSweep = () => {
      check()
      if (++seen === count) resolve()
    }
  })
  await sweeps(2, () => t.ok(calls.every((n) => n === calls[last]), `sweep ${calls[last]}: each beat called once more`))

  remove[7]()
  const callsWhenRemoved = calls[7]
  await sweeps(2, () => t.equal(calls[7], callsWhenRemoved, 'the removed beat is skipped'))
})

t.test('a sweep yields to the event loop between slices', async (t) => {
  const heartbeats = new Heartbeats(INTERVAL_MS)
  t.teardown(() => heartbeats.close())
  let otherWorkRan = false
  heartbeats.add(() => {
    otherWorkRan = false
    setImmediate(() => { otherWorkRan = true })
  })
  for (let i = 0; i < MANY; i++) heartbeats.add(() => {})
  const ranBeforeLastBeat = await new Promise<boolean>((resolve) => heartbeats.add(() => resolve(otherWorkRan)))
  t.ok(ranBeforeLastBeat, 'work queued at the start of a sweep ran before its end')
})

t.test('close ends a sweep in progress and leaves no timer behind', async (t) => {
  const resourcesBefore = heartbeatResources()
  const heartbeats = new Heartbeats(INTERVAL_MS)
  const calls = new Array<number>(MANY).fill(0)
  const closed = new Promise<void>((resolve) => {
    calls.forEach((_, i) => heartbeats.add(() => {
      calls[i]++
      if (i === 10) {
        heartbeats.close()
        resolve()
      }
    }))
  })
  await closed
  await new Promise((resolve) => setImmediate(resolve))
  t.same(calls.slice(11), new Array(MANY - 11).fill(0), 'no beat after close')
  t.equal(heartbeatResources(), resourcesBefore, 'no interval or pending slice left')
})
