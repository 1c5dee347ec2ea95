// The StoragePort contract, run against both adapters (DynamoStorage over dynalite, and
// MemoryStorage), so the two keep the same semantics. The first-turn save runs on moto too: its
// TransactWriteItems is the path AWS takes (dynalite has none; the adapter then writes in turn).
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { loadConfig } from '../src/config.ts'
import { AppError } from '../src/core/errors.ts'
import type { StoragePort } from '../src/core/ports.ts'
import type { TurnSafety } from '../src/core/safety/types.ts'
import type { Animal, Session, Turn } from '../src/core/types.ts'
import { CursorCodec } from '../src/storage/cursor.ts'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { DynamoStorage } from '../src/storage/dynamo.ts'
import { MemoryStorage } from '../src/storage/memory.ts'
import { ensureTables } from '../src/storage/tables.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { startMoto } from './helpers/moto.ts'

const dynalite = await startDynalite()
t.teardown(() => dynalite.close())

/** Fresh, empty DynamoStorage: a new set of tables on the endpoint. */
async function dynamoStorage(endpoint: string): Promise<DynamoStorage> {
  const prefix = `t${randomUUID().slice(0, 8)}`
  const config = loadConfig({
    DYNAMODB_ENDPOINT: endpoint,
    CONVERSATION_DYNAMO_TABLE_NAME: `${prefix}-conversations`,
    CONVERSATION_SESSION_TABLE_NAME: `${prefix}-sessions`,
    ANIMAL_DYNAMO_TABLE_NAME: `${prefix}-animals`,
    FAMILY_DYNAMO_TABLE_NAME: `${prefix}-families`,
    SAFETY_DYNAMO_TABLE_NAME: `${prefix}-safety`,
  })
  const client = createDynamoClient({ endpoint })
  await ensureTables(client, config)
  return new DynamoStorage({ client, tables: config.storage.tables, retentionDays: config.storage.retentionDays })
}

/** Fresh, empty storage: for DynamoDB, a new set of tables on the shared dynalite. */
const adapters: Record<string, () => Promise<StoragePort>> = {
  memory: async () => new MemoryStorage(),
  dynamodb: () => dynamoStorage(dynalite.endpoint),
}

// Fixed, increasing timestamps: ordering never depends on the clock.
const BASE = Date.parse('2030-01-01T00:00:00.000Z')
let tick = 0
const at = () => new Date(BASE + ++tick * 1000).toISOString()

function makeSession(overrides: Partial<Session> = {}): Session {
  const time = at()
  return { sessionId: randomUUID(), userId: 'alice', animalId: 'lion', createdAt: time, updatedAt: time, messageCount: 0, totalTokens: 0, totalLatencyMs: 0, ...overrides }
}

function makeTurn(session: Session, overrides: Partial<Turn> = {}): Turn {
  const n = ++tick
  return {
    turnId: randomUUID(),
    sessionId: session.sessionId,
    userId: session.userId,
    animalId: session.animalId,
    userMessage: `question ${n}`,
    reply: `answer ${n}`,
    status: 'complete',
    createdAt: new Date(BASE + n * 1000).toISOString(),
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
    latencyMs: 100,
    model: 'test-model',
    ...overrides,
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err)
}

async function all<T>(list: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await list(cursor)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return items
}

const LOST: TurnSafety = { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] }
const SWEARING: TurnSafety = { action: 'allow', flags: [{ category: 'profanity', severity: 'medium', source: 'output' }] }
const NAME_AND_SWEARING: TurnSafety = {
  action: 'redirect',
  flags: [{ category: 'personal_info', severity: 'low', source: 'input' }, { category: 'profanity', severity: 'medium', source: 'input' }],
}

const lion: Animal = { animalId: 'lion', name: 'Leo', species: 'lion', personality: 'proud', facts: ['Lions sleep a lot.'] }
const otter: Animal = { animalId: 'otter', name: 'Olly', species: 'otter', personality: 'playful', facts: ['Otters hold hands.'] }

/** A first turn stores its session with it: no session exists before, or after a failed save. */
function firstTurnContract(t: Test, open: () => Promise<StoragePort>): void {
  t.test('a first turn creates its session in the same save; a retry of it goes on in that session', async (t) => {
    const storage = await open()
    const session = makeSession()
    const first = makeTurn(session, { clientTurnId: 'k1' })
    t.equal(await storage.getSession(session.sessionId), undefined, 'nothing is stored before the first save')
    await storage.saveTurn(first, session)
    await storage.saveTurn(first, session) // a retried save counts once
    t.match(await storage.getSession(session.sessionId), {
      sessionId: session.sessionId, userId: 'alice', animalId: 'lion', createdAt: session.createdAt, updatedAt: first.createdAt,
      messageCount: 2, totalTokens: 15, totalLatencyMs: 100, lastModel: 'test-model',
    })
    t.same((await storage.listSessions({ userId: 'alice', limit: 10 })).items.map((s) => s.sessionId), [session.sessionId], 'listed like any session')

    // A same-key retry whose first attempt was stored after all (its answer was lost): counted on.
    const retry = makeTurn(session, { clientTurnId: 'k1' })
    await storage.saveTurn(retry, session)
    t.match(await storage.getSession(session.sessionId), { messageCount: 4, createdAt: session.createdAt, updatedAt: retry.createdAt })
    t.same((await storage.listTurns(session.sessionId, { limit: 10 })).items.map((turn) => turn.turnId), [first.turnId, retry.turnId])

    const mallory = { ...session, userId: 'mallory' }
    const err = await failure(storage.saveTurn(makeTurn(mallory), mallory))
    t.ok(err instanceof AppError && err.code === 'not_found', 'another user\'s session is not theirs to write')
    t.match(await storage.getSession(session.sessionId), { userId: 'alice', messageCount: 4 })
    const orphan = await failure(storage.saveTurn(makeTurn(makeSession())))
    t.ok(orphan instanceof AppError && orphan.code === 'not_found', 'without newSession a missing session is still a 404')
    t.same((await storage.listSessions({ userId: 'alice', limit: 10 })).items.length, 1)
  })
}

t.test('on moto (TransactWriteItems)', async (t) => {
  const moto = await startMoto(t)
  firstTurnContract(t, () => dynamoStorage(moto.endpoint))
})

for (const [name, open] of Object.entries(adapters)) {
  t.test(name, async (t) => {
    firstTurnContract(t, open)
    t.test('saveTurn stores the turn and keeps the session bookkeeping', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const first = { ...makeTurn(session, { clientTurnId: 'c-1', latencyMs: 120 }), endSeq: 7 }
      const second = makeTurn(session, { usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, latencyMs: 80, model: 'other-model', status: 'cancelled' })
      await storage.saveTurn(first)
      await storage.saveTurn(second)
      await storage.saveTurn(first) // a retried save must not count twice

      const stored = await storage.getSession(session.sessionId)
      t.equal(stored?.messageCount, 4, 'two messages per turn')
      t.equal(stored?.totalTokens, 18)
      t.equal(stored?.totalLatencyMs, 200)
      t.equal(stored?.lastModel, 'other-model')
      t.equal(stored?.updatedAt, second.createdAt, 'updatedAt is the latest turn')
      t.same(await storage.getTurn(first.turnId), first, 'turn read back whole, unknown fields included')
      t.equal(await storage.getTurn(randomUUID()), undefined)
      t.equal((await storage.getTurn(second.turnId))?.status, 'cancelled')
    })

    t.test('saveTurn into a missing session is a 404 and stores nothing', async (t) => {
      const storage = await open()
      const turn = makeTurn(makeSession())
      const err = await failure(storage.saveTurn(turn))
      t.ok(err instanceof AppError && err.statusCode === 404, 'not found')
      t.equal(await storage.getTurn(turn.turnId), undefined)
    })

    t.test('createSession refuses to overwrite; saveSummary updates; missing session is a 404', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const err = await failure(storage.createSession({ ...session, userId: 'mallory' }))
      t.ok(err instanceof AppError && err.statusCode === 409)
      t.equal((await storage.getSession(session.sessionId))?.userId, 'alice')
      await storage.saveSummary(session.sessionId, 'Talked about naps.', 3)
      t.match(await storage.getSession(session.sessionId), { summary: 'Talked about naps.', summaryTurnCount: 3 })
      const missing = await failure(storage.saveSummary(randomUUID(), 'x', 1))
      t.ok(missing instanceof AppError && missing.statusCode === 404)
      t.equal(await storage.getSession(randomUUID()), undefined)
    })

    t.test('listTurns pages oldest first with no duplicate or gap while turns are added', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const written: string[] = []
      const save = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const turn = makeTurn(session)
          await storage.saveTurn(turn)
          written.push(turn.turnId)
        }
      }
      await save(5)
      const seen: string[] = []
      let page = await storage.listTurns(session.sessionId, { limit: 2 })
      seen.push(...page.items.map((turn) => turn.turnId))
      await save(3) // arrives between page requests
      while (page.nextCursor) {
        page = await storage.listTurns(session.sessionId, { limit: 2, cursor: page.nextCursor })
        seen.push(...page.items.map((turn) => turn.turnId))
        await save(page.nextCursor && written.length < 10 ? 1 : 0)
      }
      t.same(seen, written, 'every turn once, in order')
      t.equal(page.nextCursor, null)

      const exact = await storage.listTurns(session.sessionId, { limit: written.length })
      t.equal(exact.items.length, written.length)
      t.equal(exact.nextCursor, null, 'a full last page has no cursor')
      t.same(await storage.listTurns(randomUUID(), { limit: 5 }), { items: [], nextCursor: null })
      const clamped = await storage.listTurns(session.sessionId, { limit: 0 })
      t.equal(clamped.items.length, 1, 'a limit below 1 reads one turn, not zero or all')
      t.type(clamped.nextCursor, 'string')
    })

    t.test('recentTurns returns the newest n, oldest first', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const turns = [makeTurn(session), makeTurn(session), makeTurn(session), makeTurn(session)]
      // Saved out of order: order comes from createdAt, not from save order.
      for (const turn of [turns[2]!, turns[0]!, turns[3]!, turns[1]!]) await storage.saveTurn(turn)
      t.same((await storage.recentTurns(session.sessionId, 3)).map((turn) => turn.turnId), turns.slice(1).map((turn) => turn.turnId))
      t.same(await storage.recentTurns(session.sessionId, 0), [])
      t.equal((await storage.recentTurns(session.sessionId, 10)).length, 4)
    })

    t.test('listSessions: newest activity first, per user, per animal and all, across writes', async (t) => {
      const storage = await open()
      const mine = [makeSession(), makeSession({ animalId: 'otter' }), makeSession(), makeSession({ animalId: 'otter' }), makeSession()]
      const bobs = makeSession({ userId: 'bob' })
      for (const session of [...mine, bobs]) await storage.createSession(session)
      const newestFirst = [...mine].reverse().map((s) => s.sessionId)

      const seen: string[] = []
      let page = await storage.listSessions({ userId: 'alice', limit: 2 })
      seen.push(...page.items.map((s) => s.sessionId))
      const late = makeSession()
      await storage.createSession(late) // newer than everything: belongs before the cursor
      await storage.saveTurn(makeTurn(mine[4]!)) // already seen: moves to the top, not shown twice
      while (page.nextCursor) {
        page = await storage.listSessions({ userId: 'alice', limit: 2, cursor: page.nextCursor })
        seen.push(...page.items.map((s) => s.sessionId))
      }
      t.same(seen, newestFirst, 'each older session exactly once')
      t.same((await storage.listSessions({ userId: 'alice', limit: 2 })).items.map((s) => s.sessionId), [mine[4]!.sessionId, late.sessionId], 'fresh list shows the new activity first')

      const otters = await all((cursor) => storage.listSessions({ animalId: 'otter', limit: 1, cursor }))
      t.same(otters.map((s) => s.sessionId), [mine[3]!.sessionId, mine[1]!.sessionId])
      const everyone = await all((cursor) => storage.listSessions({ limit: 3, cursor }))
      t.equal(everyone.length, 7)
      t.ok(everyone.some((s) => s.userId === 'bob'))
      t.same(everyone.map((s) => s.updatedAt), everyone.map((s) => s.updatedAt).sort().reverse(), 'sorted by updatedAt, newest first')
      t.match(everyone[0], { sessionId: mine[4]!.sessionId, messageCount: 2 })
      t.notOk('activityBucket' in everyone[0]! || 'expiresAt' in everyone[0]!, 'no storage attributes leak out')

      const both = await failure(storage.listSessions({ userId: 'alice', animalId: 'otter', limit: 5 }))
      t.ok(both instanceof AppError && both.statusCode === 400)
    })

    t.test('cursors: tampered, malformed, foreign and replayed on another query are 400', async (t) => {
      const storage = await open()
      const a = makeSession()
      const b = makeSession()
      await storage.createSession(a)
      await storage.createSession(b)
      for (let i = 0; i < 3; i++) {
        await storage.saveTurn(makeTurn(a))
        await storage.saveTurn(makeTurn(b))
      }
      const cursor = (await storage.listTurns(a.sessionId, { limit: 1 })).nextCursor!
      const sessionsCursor = (await storage.listSessions({ userId: 'alice', limit: 1 })).nextCursor!
      t.ok(cursor && sessionsCursor)
      const [payload, signature] = cursor.split('.') as [string, string]
      const flipped = payload.slice(0, -2) + (payload.at(-2) === 'A' ? 'B' : 'A') + payload.at(-1)
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { s: string }
      const forged = new CursorCodec('a key the server does not use').encode(decoded.s, { pk: 'x', sk: 'y', position: 'z' })

      const bad: [string, Promise<unknown>][] = [
        ['payload changed', storage.listTurns(a.sessionId, { limit: 1, cursor: `${flipped}.${signature}` })],
        ['signature changed', storage.listTurns(a.sessionId, { limit: 1, cursor: `${payload}.${signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}` })],
        ['not a cursor', storage.listTurns(a.sessionId, { limit: 1, cursor: 'hello' })],
        ['empty', storage.listTurns(a.sessionId, { limit: 1, cursor: '' })],
        ['truncated', storage.listTurns(a.sessionId, { limit: 1, cursor: cursor.slice(0, -3) })],
        ['huge', storage.listTurns(a.sessionId, { limit: 1, cursor: 'x'.repeat(100_000) })],
        ['signed with another key', storage.listTurns(a.sessionId, { limit: 1, cursor: forged })],
        ['from another session', storage.listTurns(b.sessionId, { limit: 1, cursor })],
        ['from a session list', storage.listTurns(a.sessionId, { limit: 1, cursor: sessionsCursor })],
        ['from another user', storage.listSessions({ userId: 'bob', limit: 1, cursor: sessionsCursor })],
        ['from a filtered list on the full list', storage.listSessions({ limit: 1, cursor: sessionsCursor })],
      ]
      for (const [label, attempt] of bad) {
        const err = await failure(attempt)
        t.ok(err instanceof AppError && err.statusCode === 400 && err.message === 'cursor is invalid', label)
      }
      t.equal((await storage.listTurns(a.sessionId, { limit: 1, cursor })).items.length, 1, 'the genuine cursor still works')
    })

    t.test('iterateTurns walks every turn in order, across internal pages', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const ids: string[] = []
      for (let i = 0; i < 130; i++) {
        const turn = makeTurn(session)
        await storage.saveTurn(turn)
        ids.push(turn.turnId)
      }
      const walked: string[] = []
      for await (const turn of storage.iterateTurns(session.sessionId)) walked.push(turn.turnId)
      t.same(walked, ids)
    })

    t.test('claimClientTurn: five concurrent claims, exactly one winner', async (t) => {
      const storage = await open()
      const candidates = Array.from({ length: 5 }, () => randomUUID())
      const claims = await Promise.all(candidates.map((turnId) => storage.claimClientTurn('alice', 'retry-1', turnId)))
      const winners = candidates.filter((_, i) => claims[i]!.claimed)
      t.equal(winners.length, 1, 'one claim wins')
      for (const claim of claims) if (!claim.claimed) t.equal(claim.turnId, winners[0], 'losers learn the winning turnId')
      t.same(await storage.claimClientTurn('alice', 'retry-1', randomUUID()), { claimed: false, turnId: winners[0] }, 'a later retry too')
      t.same(await storage.claimClientTurn('bob', 'retry-1', randomUUID()), { claimed: true }, 'keys are per user')
    })

    t.test('reclaimClientTurn: a stale claim moves to one new turn, once', async (t) => {
      const storage = await open()
      const stale = randomUUID()
      t.same(await storage.claimClientTurn('alice', 'retry-2', stale), { claimed: true })
      const candidates = Array.from({ length: 5 }, () => randomUUID())
      const claims = await Promise.all(candidates.map((turnId) => storage.reclaimClientTurn('alice', 'retry-2', stale, turnId)))
      const winners = candidates.filter((_, i) => claims[i]!.claimed)
      t.equal(winners.length, 1, 'one takeover wins')
      for (const claim of claims) if (!claim.claimed) t.equal(claim.turnId, winners[0], 'losers learn the new turnId')
      t.same(await storage.claimClientTurn('alice', 'retry-2', randomUUID()), { claimed: false, turnId: winners[0] })
      t.same(await storage.reclaimClientTurn('alice', 'retry-3', 'never-claimed', 'fresh'), { claimed: true }, 'a vanished claim is simply claimed')
    })

    t.test('deleteSession removes the session, all its turns and their claims', async (t) => {
      const storage = await open()
      const doomed = makeSession()
      const kept = makeSession()
      await storage.createSession(doomed)
      await storage.createSession(kept)
      const turns: Turn[] = []
      for (let i = 0; i < 60; i++) {
        const turn = makeTurn(doomed, { clientTurnId: `ct-${i}` })
        t.same(await storage.claimClientTurn('alice', turn.clientTurnId!, turn.turnId), { claimed: true })
        await storage.saveTurn(turn)
        turns.push(turn)
      }
      const keptTurn = makeTurn(kept)
      await storage.saveTurn(keptTurn)

      const deletion = await storage.deleteSession(doomed.sessionId)
      t.equal(deletion.existed, true)
      t.same([...deletion.turnIds].sort(), turns.map((turn) => turn.turnId).sort(), 'names every deleted turn (to purge resume buffers)')
      t.equal(await storage.getSession(doomed.sessionId), undefined)
      t.same(await storage.listTurns(doomed.sessionId, { limit: 100 }), { items: [], nextCursor: null })
      t.equal(await storage.getTurn(turns[0]!.turnId), undefined)
      t.equal(await storage.getTurn(turns[59]!.turnId), undefined)
      t.same(await storage.claimClientTurn('alice', 'ct-0', randomUUID()), { claimed: true }, 'its clientTurnIds are free again')
      t.same(await storage.deleteSession(doomed.sessionId), { existed: false, turnIds: [] }, 'already gone')
      t.same(await storage.getTurn(keptTurn.turnId), keptTurn, 'other sessions untouched')
      t.same((await storage.listSessions({ limit: 10 })).items.map((s) => s.sessionId), [kept.sessionId])
    })

    t.test('flagged turns: kept with the turn, counted on the session, listed as events and flagged sessions', async (t) => {
      const storage = await open()
      const calm = makeSession()
      const lost = makeSession()
      const otterChat = makeSession({ animalId: 'otter' })
      const bobs = makeSession({ userId: 'bob' })
      for (const session of [calm, lost, otterChat, bobs]) await storage.createSession(session)
      await storage.saveTurn(makeTurn(calm))
      const lostTurn = makeTurn(lost, { safety: LOST })
      const swearing = makeTurn(lost, { safety: SWEARING })
      const otterTurn = makeTurn(otterChat, { safety: NAME_AND_SWEARING })
      const bobTurn = makeTurn(bobs, { safety: LOST })
      for (const turn of [lostTurn, swearing, otterTurn, bobTurn]) await storage.saveTurn(turn)
      await storage.saveTurn(lostTurn) // a retried save counts once
      await storage.saveTurn(makeTurn(calm)) // calm is the most recently active session

      t.same((await storage.getTurn(lostTurn.turnId))?.safety, LOST, 'the turn keeps its safety')
      t.same((await storage.listTurns(lost.sessionId, { limit: 5 })).items.map((turn) => turn.safety), [LOST, SWEARING])
      t.equal((await storage.getSession(lost.sessionId))?.safetyFlags, 2)
      t.equal((await storage.getSession(otterChat.sessionId))?.safetyFlags, 2, 'one per flag')
      t.notOk((await storage.getSession(calm.sessionId))?.safetyFlags, 'an unflagged session has none')

      const flaggedIds = async (query: Omit<Parameters<StoragePort['listSessions']>[0], 'limit'>) =>
        (await all((cursor) => storage.listSessions({ ...query, flagged: true, limit: 1, cursor }))).map((s) => s.sessionId)
      t.same(await flaggedIds({}), [bobs.sessionId, otterChat.sessionId, lost.sessionId], 'every flagged session, most recently flagged first, one page at a time')
      t.same(await flaggedIds({ userId: 'alice' }), [otterChat.sessionId, lost.sessionId])
      t.same(await flaggedIds({ animalId: 'otter' }), [otterChat.sessionId])
      t.same(await flaggedIds({ userId: 'nobody' }), [])
      const listed = (await storage.listSessions({ userId: 'alice', flagged: true, limit: 10 })).items
      t.match(listed[1], { sessionId: lost.sessionId, safetyFlags: 2, messageCount: 4 }, 'the flagged list gives whole sessions')

      const events = await all((cursor) => storage.listSafetyEvents({ limit: 2, cursor }))
      t.same(events.map((e) => [e.turnId, e.category]), [
        [bobTurn.turnId, 'lost_child'],
        [otterTurn.turnId, 'profanity'], [otterTurn.turnId, 'personal_info'],
        [swearing.turnId, 'profanity'],
        [lostTurn.turnId, 'lost_child'],
      ], 'one event per flag, newest turn first, one turn\'s flags in reverse order')
      t.same(events[4], {
        turnId: lostTurn.turnId, sessionId: lost.sessionId, userId: 'alice', animalId: 'lion',
        category: 'lost_child', severity: 'high', source: 'input', action: 'support', createdAt: lostTurn.createdAt,
      }, 'exactly the contract\'s fields')

      const ids = async (query: Omit<Parameters<StoragePort['listSafetyEvents']>[0], 'limit'>, limit = 1) =>
        (await all((cursor) => storage.listSafetyEvents({ ...query, limit, cursor }))).map((e) => `${e.turnId}:${e.category}`)
      t.same(await ids({ severity: 'high' }), [`${bobTurn.turnId}:lost_child`, `${lostTurn.turnId}:lost_child`])
      t.same(await ids({ userIds: ['alice'] }), [`${otterTurn.turnId}:profanity`, `${otterTurn.turnId}:personal_info`, `${swearing.turnId}:profanity`, `${lostTurn.turnId}:lost_child`])
      t.same(await ids({ userIds: ['alice', 'bob'], severity: 'high' }), [`${bobTurn.turnId}:lost_child`, `${lostTurn.turnId}:lost_child`], 'several users merged')
      t.same(await ids({ userIds: ['alice'], animalId: 'otter', severity: 'low' }), [`${otterTurn.turnId}:personal_info`])
      t.same(await ids({ animalId: 'lion' }, 2), [`${bobTurn.turnId}:lost_child`, `${swearing.turnId}:profanity`, `${lostTurn.turnId}:lost_child`])
      t.same(await ids({ animalId: 'lion', severity: 'medium' }), [`${swearing.turnId}:profanity`])
      t.same(await ids({ userIds: [] }), [], 'a parent without children sees nothing')

      const first = await storage.listSafetyEvents({ userIds: ['alice'], limit: 1 })
      const wrong = await failure(storage.listSafetyEvents({ userIds: ['alice'], severity: 'high', limit: 1, cursor: first.nextCursor! }))
      t.ok(wrong instanceof AppError && wrong.statusCode === 400, 'an events cursor is bound to its filters')
      const family = await storage.listSafetyEvents({ userIds: ['alice', 'bob'], limit: 1, cursor: first.nextCursor! })
      t.equal(family.items.length, 1, 'but not to which users: a family that changed between pages keeps paging')
      const flaggedCursor = (await storage.listSessions({ flagged: true, limit: 1 })).nextCursor!
      const mixed = await failure(storage.listSessions({ limit: 1, cursor: flaggedCursor }))
      t.ok(mixed instanceof AppError && mixed.statusCode === 400, 'a flagged-list cursor does not page the plain list')
    })

    t.test('deleteSession takes the session\'s safety events and flagged marker with it', async (t) => {
      const storage = await open()
      const doomed = makeSession()
      const kept = makeSession()
      await storage.createSession(doomed)
      await storage.createSession(kept)
      await storage.saveTurn(makeTurn(doomed, { safety: LOST }))
      const keptTurn = makeTurn(kept, { safety: SWEARING })
      await storage.saveTurn(keptTurn)
      await storage.deleteSession(doomed.sessionId)
      t.same((await storage.listSafetyEvents({ limit: 10 })).items.map((e) => e.turnId), [keptTurn.turnId])
      t.same((await storage.listSessions({ flagged: true, limit: 10 })).items.map((s) => s.sessionId), [kept.sessionId])
    })

    t.test('deleteUserData erases every session, turn, claim and safety event of one user, nobody else\'s', async (t) => {
      const storage = await open()
      const sessions = [makeSession({ userId: 'kid' }), makeSession({ userId: 'kid', animalId: 'otter' }), makeSession({ userId: 'kid' })]
      const other = makeSession({ userId: 'other-kid' })
      for (const session of [...sessions, other]) await storage.createSession(session)
      const kidTurns: Turn[] = []
      for (const session of sessions) {
        for (let i = 0; i < 3; i++) {
          const turn = makeTurn(session, { clientTurnId: `k-${session.sessionId}-${i}`, safety: i === 1 ? LOST : undefined })
          await storage.claimClientTurn('kid', turn.clientTurnId!, turn.turnId)
          await storage.saveTurn(turn)
          kidTurns.push(turn)
        }
      }
      await storage.claimClientTurn('kid', 'never-stored', randomUUID()) // a turn that failed before it was saved
      const otherTurn = makeTurn(other, { clientTurnId: 'o-1', safety: LOST })
      await storage.claimClientTurn('other-kid', 'o-1', otherTurn.turnId)
      await storage.saveTurn(otherTurn)

      const deletion = await storage.deleteUserData('kid')
      t.equal(deletion.existed, true)
      t.same([...deletion.turnIds].sort(), kidTurns.map((turn) => turn.turnId).sort(), 'names every deleted turn')
      for (const session of sessions) t.equal(await storage.getSession(session.sessionId), undefined)
      for (const turn of kidTurns) t.equal(await storage.getTurn(turn.turnId), undefined)
      t.same(await storage.listSessions({ userId: 'kid', limit: 10 }), { items: [], nextCursor: null })
      t.same(await storage.listSafetyEvents({ userIds: ['kid'], limit: 10 }), { items: [], nextCursor: null })
      t.same(await storage.listSessions({ userId: 'kid', flagged: true, limit: 10 }), { items: [], nextCursor: null })
      t.same(await storage.claimClientTurn('kid', 'never-stored', randomUUID()), { claimed: true }, 'claims of turns never stored are gone too')
      t.same(await storage.claimClientTurn('kid', kidTurns[0]!.clientTurnId!, randomUUID()), { claimed: true })

      t.same(await storage.getTurn(otherTurn.turnId), otherTurn, 'another child is untouched')
      t.same((await storage.listSafetyEvents({ limit: 10 })).items.map((e) => e.userId), ['other-kid'])
      t.same(await storage.claimClientTurn('other-kid', 'o-1', randomUUID()), { claimed: false, turnId: otherTurn.turnId })
      t.same(await storage.deleteUserData('kid'), { existed: false, turnIds: [] }, 'erasing again finds nothing')
    })

    t.test('families: link, list, check, unlink', async (t) => {
      const storage = await open()
      await storage.linkChild('pam', 'kid-1')
      await storage.linkChild('pam', 'kid-2')
      await storage.linkChild('pam', 'kid-1')
      await storage.linkChild('other', 'kid-3')
      t.same(await storage.listChildren('pam'), ['kid-1', 'kid-2'])
      t.equal(await storage.isLinked('pam', 'kid-1'), true)
      t.equal(await storage.isLinked('pam', 'kid-3'), false)
      t.equal(await storage.isLinked('kid-1', 'pam'), false, 'links have a direction')
      await storage.unlinkChild('pam', 'kid-1')
      t.equal(await storage.isLinked('pam', 'kid-1'), false, 'unlink takes effect at once')
      t.same(await storage.listChildren('pam'), ['kid-2'])
      t.same(await storage.listChildren('nobody'), [])
      await storage.unlinkChild('pam', 'never-linked')
    })

    t.test('animals: seeding never overwrites an edited animal', async (t) => {
      const storage = await open()
      await storage.seedAnimals([lion])
      const seeded = await storage.getAnimal('lion')
      t.match(seeded, lion)
      t.type(seeded?.updatedAt, 'string')
      await storage.putAnimal({ ...lion, personality: 'sleepy' })
      await storage.seedAnimals([lion, otter])
      t.equal((await storage.getAnimal('lion'))?.personality, 'sleepy', 'the edit stays')
      t.same((await storage.listAnimals()).map((a) => a.animalId), ['lion', 'otter'], 'new seed animals are added')
      t.equal(await storage.getAnimal('zebra'), undefined)
    })

    t.test('stored objects are not aliased to the caller', async (t) => {
      const storage = await open()
      const session = makeSession()
      await storage.createSession(session)
      const turn = makeTurn(session)
      await storage.saveTurn(turn)
      turn.reply = 'changed after saving'
      turn.usage.totalTokens = 999
      const stored = await storage.getTurn(turn.turnId)
      t.equal(stored?.reply.startsWith('answer'), true)
      t.equal(stored?.usage.totalTokens, 15, 'nested objects are copied in')
      stored!.usage.totalTokens = 999
      t.equal((await storage.getTurn(turn.turnId))?.usage.totalTokens, 15, 'and out')
      await storage.seedAnimals([lion])
      const animal = await storage.getAnimal('lion')
      t.throws(() => animal!.facts.push('changed after reading'), TypeError, 'animals are handed out frozen')
      t.throws(() => { animal!.name = 'changed' }, TypeError)
      t.same((await storage.getAnimal('lion'))?.facts, ['Lions sleep a lot.'], 'arrays too')
      t.equal((await storage.getAnimal('lion'))?.name, 'Leo')
    })
  })
}

t.test('the memory store is bounded: the least recently active sessions go first, with their turns', async (t) => {
  const storage = new MemoryStorage({ limits: { maxSessions: 3, maxBytes: 1e9 } })
  const sessions = [makeSession(), makeSession(), makeSession(), makeSession()]
  await storage.createSession(sessions[0])
  await storage.createSession(sessions[1])
  await storage.createSession(sessions[2])
  const kept = makeTurn(sessions[0])
  await storage.saveTurn(kept) // session 0 is now the most recently active
  const gone = makeTurn(sessions[1])
  await storage.saveTurn(gone)
  await storage.createSession(sessions[3]) // one too many: session 2 (least recently active) goes
  t.equal(await storage.getSession(sessions[2].sessionId), undefined, 'the least recently active session is evicted')
  t.ok(await storage.getSession(sessions[0].sessionId), 'an older session with recent activity stays')
  t.same(storage.usage.sessions, 3)
  await storage.saveTurn(makeTurn(sessions[3]))
  await storage.createSession(makeSession())
  t.equal(await storage.getSession(sessions[0].sessionId), undefined)
  t.equal(await storage.getTurn(kept.turnId), undefined, 'its turns go with it')
  t.same(await storage.recentTurns(sessions[0].sessionId, 10), [])

  const small = new MemoryStorage({ limits: { maxSessions: 1000, maxBytes: 20_000 } })
  const long = 'word '.repeat(400) // 2,000 characters: about 5 KiB per turn counted
  let last = makeSession()
  for (let i = 0; i < 20; i++) {
    last = makeSession()
    await small.createSession(last)
    await small.saveTurn({ ...makeTurn(last), userMessage: long, reply: long })
    t.ok(small.usage.bytes <= 20_000, `bytes stay under the bound (${small.usage.bytes})`)
  }
  t.ok(small.usage.sessions < 5, 'by evicting sessions')
  t.equal((await small.getTurn((await small.recentTurns(last.sessionId, 1))[0]!.turnId))?.reply, long, 'the newest is kept')
  const before = small.usage
  await small.deleteSession(last.sessionId)
  t.ok(small.usage.bytes < before.bytes - 8000, 'a delete gives its bytes back')
  t.equal(small.usage.sessions, before.sessions - 1)
})
