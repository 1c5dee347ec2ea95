// StoragePort on DynamoDB (AWS, or the embedded dynalite). Keys and indexes: tables.ts and
// docs/storage.md. Every request goes through call(): bounded time, 503 when storage is down.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { AppError, notFound, StorageUnavailableError } from '../core/errors.ts'
import { silentLog, type Log } from '../core/log.ts'
import { flagCount } from '../core/flags.ts'
import type { ClientTurnClaim, Deletion, PageQuery, SafetyEventQuery, SessionQuery, StoragePort } from '../core/ports.ts'
import { SEVERITIES } from '../core/safety/types.ts'
import type { Animal, Page, SafetyEvent, Session, Turn } from '../core/types.ts'
import { AnimalCache, deepFreeze } from './animal-cache.ts'
import { deleteItems, getItems, putItems } from './batch.ts'
import { CursorCodec, invalidCursor, type CursorKey } from './cursor.ts'
import { call } from './dynamo-client.ts'
import {
  clientPartition,
  clientTurnKey,
  EVENT_ORDER,
  expiresAt,
  FLAGGED_BUCKET,
  FLAGGED_ORDER,
  flaggedSessionItem,
  flaggedSessionKey,
  MESSAGES_PER_TURN,
  safetyEventItems,
  safetyFootprint,
  safetyPartition,
  sessionItem,
  sessionPartition,
  toSafetyEvent,
  toSession,
  toTurn,
  turnFootprint,
  turnItem,
  turnPointerItem,
  turnPointerKey,
  TURN_SORT_PREFIX,
  type ItemKey,
} from './items.ts'
import { checkSessionQuery, compareKeys, MAX_PAGE_SIZE, pageSize, safetyEventsScope, sessionsScope, turnsScope } from './queries.ts'
import { ACTIVITY_BUCKET, SAFETY_INDEXES, SESSION_INDEXES, tableDefinitions, TTL_ATTRIBUTE, type TableNames } from './tables.ts'

export interface DynamoStorageOptions {
  /** Owned by the storage from now on: close() destroys it. */
  client: DynamoDBClient
  tables: TableNames
  retentionDays: number
  log?: Log
  cursors?: CursorCodec
  /** Default ANIMAL_CACHE_TTL_MS. */
  animalCacheTtlMs?: number
}

type Item = Record<string, unknown>

/** One partition of a safety-table index, newest first (see #newestFirst). */
interface IndexPartition {
  index: string
  attribute: string
  value: string
}

/** A FilterExpression applied to every partition of one query. */
interface Filter {
  expression: string
  names: Record<string, string>
  values: Record<string, unknown>
}

/** How long an animal read from the table is used before it is read again (edits made by other instances). */
export const ANIMAL_CACHE_TTL_MS = 5000

export class DynamoStorage implements StoragePort {
  readonly kind = 'dynamodb'
  readonly #client: DynamoDBClient
  readonly #doc: DynamoDBDocumentClient
  readonly #tables: TableNames
  readonly #retentionDays: number
  readonly #log: Log
  readonly #cursors: CursorCodec
  readonly #animals: AnimalCache
  /** Turns false once the endpoint answers that it has no TransactWriteItems (dynalite). */
  #transactions = true

  constructor(options: DynamoStorageOptions) {
    this.#client = options.client
    this.#doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } })
    this.#tables = options.tables
    this.#retentionDays = options.retentionDays
    this.#log = options.log ?? silentLog
    this.#cursors = options.cursors ?? new CursorCodec()
    this.#animals = new AnimalCache(options.animalCacheTtlMs ?? ANIMAL_CACHE_TTL_MS)
  }

  async ping(): Promise<void> {
    try {
      await call((o) => this.#doc.send(new GetCommand({ TableName: this.#tables.sessions, Key: { sessionId: '_ping' } }), o))
    } catch (err) {
      throw err instanceof StorageUnavailableError ? err : new StorageUnavailableError(undefined, { cause: err })
    }
  }

  async close(): Promise<void> {
    this.#doc.destroy()
    this.#client.destroy()
  }

  // Animals

  async listAnimals(): Promise<Animal[]> {
    const animals: Animal[] = []
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new ScanCommand({ TableName: this.#tables.animals, ExclusiveStartKey: start, ConsistentRead: true }), o))
      animals.push(...((page.Items ?? []) as Animal[]).map(deepFreeze))
      start = page.LastEvaluatedKey
    } while (start)
    return animals.sort((a, b) => a.animalId.localeCompare(b.animalId))
  }

  /** From the cache (read-only, shared) when read within ANIMAL_CACHE_TTL_MS: no round trip per turn. */
  async getAnimal(animalId: string): Promise<Animal | undefined> {
    return this.#animals.get(animalId, async () => (await this.#get(this.#tables.animals, { animalId })) as Animal | undefined)
  }

  async putAnimal(animal: Animal): Promise<void> {
    const item = { ...animal, updatedAt: new Date().toISOString() }
    this.#animals.forget(animal.animalId)
    await call((o) => this.#doc.send(new PutCommand({ TableName: this.#tables.animals, Item: item }), o))
    this.#animals.forget(animal.animalId) // a turn may have read the old version meanwhile
  }

  async seedAnimals(animals: Animal[]): Promise<void> {
    const updatedAt = new Date().toISOString()
    await Promise.all(animals.map((animal) => this.#putIfAbsent(this.#tables.animals, { updatedAt, ...animal }, 'animalId')))
  }

  // Sessions

  async createSession(session: Session): Promise<void> {
    const created = await this.#putIfAbsent(this.#tables.sessions, sessionItem(session, this.#ttl()), 'sessionId')
    if (!created) throw new AppError('conflict', `session '${session.sessionId}' already exists`)
  }

  async getSession(sessionId: string): Promise<Session | undefined> {
    const item = await this.#get(this.#tables.sessions, { sessionId })
    return item && toSession(item)
  }

  async listSessions(query: SessionQuery): Promise<Page<Session>> {
    checkSessionQuery(query)
    if (query.flagged) return this.#listFlaggedSessions(query)
    const [IndexName, attribute, value] = query.userId !== undefined
      ? [SESSION_INDEXES.byUser, 'userId', query.userId]
      : query.animalId !== undefined
        ? [SESSION_INDEXES.byAnimal, 'animalId', query.animalId]
        : [SESSION_INDEXES.byActivity, 'activityBucket', ACTIVITY_BUCKET]
    const page = await this.#queryPage(
      {
        TableName: this.#tables.sessions,
        IndexName,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': attribute },
        ExpressionAttributeValues: { ':p': value },
        ScanIndexForward: false,
      },
      query,
      sessionsScope(query),
      ['sessionId', attribute, 'updatedAt'],
      { [attribute]: value },
    )
    return { items: page.items.map(toSession), nextCursor: page.nextCursor }
  }

  /**
   * The session item goes first, so a turn finishing meanwhile fails its "session exists"
   * condition instead of leaving an orphan; then every turn with its pointer, claim and safety
   * events, then the session's flagged marker. The sweep also runs when the session is already
   * gone, so a retry finishes an interrupted delete.
   */
  async deleteSession(sessionId: string): Promise<Deletion> {
    const deleted = await call((o) =>
      this.#doc.send(new DeleteCommand({ TableName: this.#tables.sessions, Key: { sessionId }, ReturnValues: 'ALL_OLD' }), o))
    const turnIds: string[] = []
    let userId = deleted.Attributes?.userId as string | undefined
    const projection = {
      ProjectionExpression: 'sessionId, turnId, createdAt, userId, animalId, clientTurnId, #safety',
      ExpressionAttributeNames: { '#safety': 'safety' },
    }
    for await (const items of this.#turnPages(sessionId, projection)) {
      const turns = items.map(toTurn)
      await deleteItems(this.#doc, this.#tables.conversations, turns.flatMap(turnFootprint))
      await deleteItems(this.#doc, this.#tables.safety, turns.flatMap(safetyFootprint))
      turnIds.push(...turns.map((turn) => turn.turnId))
      userId ??= turns[0]?.userId
    }
    if (userId !== undefined) await deleteItems(this.#doc, this.#tables.safety, [flaggedSessionKey({ userId, sessionId })])
    return { existed: deleted.Attributes !== undefined, turnIds }
  }

  /**
   * Every session of the user (found through the byUser index), then whatever is left in the
   * user's partitions: safety events and markers, and idempotency claims of turns never stored.
   */
  async deleteUserData(userId: string): Promise<Deletion> {
    const turnIds: string[] = []
    let existed = false
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({
        TableName: this.#tables.sessions,
        IndexName: SESSION_INDEXES.byUser,
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
        ProjectionExpression: 'sessionId',
        ExclusiveStartKey: start,
      }), o))
      for (const { sessionId } of page.Items ?? []) {
        const deleted = await this.deleteSession(sessionId as string)
        existed ||= deleted.existed
        turnIds.push(...deleted.turnIds)
      }
      start = page.LastEvaluatedKey
    } while (start)
    await this.#deletePartition(this.#tables.safety, safetyPartition(userId))
    await this.#deletePartition(this.#tables.conversations, clientPartition(userId))
    return { existed, turnIds }
  }

  async saveSummary(sessionId: string, summary: string, turnCount: number): Promise<void> {
    await this.#updateSession({
      TableName: this.#tables.sessions,
      Key: { sessionId },
      UpdateExpression: 'SET summary = :summary, summaryTurnCount = :count',
      ConditionExpression: 'attribute_exists(sessionId)',
      ExpressionAttributeValues: { ':summary': summary, ':count': turnCount },
    })
  }

  // Turns

  /**
   * One transaction: the turn (only if not stored yet, so a retried save counts once), its
   * turnId pointer, and the session's counters, activity time and TTL (only if the session
   * still exists; a first turn's `newSession` is created by the same update, or found stored by
   * an earlier attempt and must then be the same user's). On endpoints without transactions the
   * same writes run one after another.
   */
  async saveTurn(turn: Turn, newSession?: Session): Promise<void> {
    const ttl = this.#ttl()
    const turnPut = {
      TableName: this.#tables.conversations,
      Item: turnItem(turn, ttl),
      ConditionExpression: 'attribute_not_exists(pk)',
    }
    const pointerPut = { TableName: this.#tables.conversations, Item: turnPointerItem(turn, ttl) }
    const flags = flagCount(turn)
    // A new session's own attributes, set only where the item is created (`if_not_exists`).
    const creation = newSession
      ? {
        set: ', userId = if_not_exists(userId, :user), animalId = if_not_exists(animalId, :animal), ' +
          'createdAt = if_not_exists(createdAt, :created), activityBucket = :bucket',
        values: { ':user': newSession.userId, ':animal': newSession.animalId, ':created': newSession.createdAt, ':bucket': ACTIVITY_BUCKET },
      }
      : undefined
    const sessionUpdate = {
      TableName: this.#tables.sessions,
      Key: { sessionId: turn.sessionId },
      UpdateExpression: `SET updatedAt = :activity, lastModel = :model, ${TTL_ATTRIBUTE} = :ttl${creation?.set ?? ''} ` +
        `ADD messageCount :messages, totalTokens :tokens, totalLatencyMs :latency${flags ? ', safetyFlags :flags' : ''}`,
      ConditionExpression: creation ? 'attribute_not_exists(sessionId) OR userId = :user' : 'attribute_exists(sessionId)',
      ExpressionAttributeValues: {
        ':activity': turn.createdAt,
        ':model': turn.model,
        ':ttl': ttl,
        ':messages': MESSAGES_PER_TURN,
        ':tokens': turn.usage.totalTokens,
        ':latency': turn.latencyMs,
        ...(flags ? { ':flags': flags } : {}),
        ...creation?.values,
      },
    }
    // A flagged turn also writes one event per flag and moves its session's flagged marker.
    const safetyItems = flags ? [...safetyEventItems(turn, ttl), flaggedSessionItem(turn, ttl)] : []
    if (this.#transactions) {
      try {
        await call((o) => this.#doc.send(new TransactWriteCommand({
          TransactItems: [
            { Put: turnPut }, { Put: pointerPut }, { Update: sessionUpdate },
            ...safetyItems.map((Item) => ({ Put: { TableName: this.#tables.safety, Item } })),
          ],
        }), o))
        return
      } catch (err) {
        if ((err as Error).name !== 'UnknownOperationException') return this.#transactionFailed(err, turn)
        this.#transactions = false
        this.#log.info({}, 'this DynamoDB endpoint has no transactions; turns are saved with sequential writes')
      }
    }
    if (!(await this.#putIfAbsent(turnPut.TableName, turnPut.Item, 'pk'))) return
    await call((o) => this.#doc.send(new PutCommand(pointerPut), o))
    try {
      await this.#updateSession(sessionUpdate)
    } catch (err) {
      await deleteItems(this.#doc, this.#tables.conversations, turnFootprint(turn))
      throw err
    }
    await putItems(this.#doc, this.#tables.safety, safetyItems)
  }

  async getTurn(turnId: string): Promise<Turn | undefined> {
    const pointer = await this.#get(this.#tables.conversations, turnPointerKey(turnId))
    const item = pointer && await this.#get(this.#tables.conversations, pointer.turnKey as ItemKey)
    return item && toTurn(item)
  }

  async recentTurns(sessionId: string, count: number): Promise<Turn[]> {
    if (count <= 0) return []
    const page = await call((o) => this.#doc.send(new QueryCommand({ ...this.#turnsQuery(sessionId), ScanIndexForward: false, Limit: count }), o))
    return (page.Items ?? []).map(toTurn).reverse()
  }

  async listTurns(sessionId: string, query: PageQuery): Promise<Page<Turn>> {
    const page = await this.#queryPage(this.#turnsQuery(sessionId), query, turnsScope(sessionId), ['pk', 'sk'], { pk: sessionPartition(sessionId) })
    return { items: page.items.map(toTurn), nextCursor: page.nextCursor }
  }

  async *iterateTurns(sessionId: string): AsyncIterable<Turn> {
    for await (const items of this.#turnPages(sessionId)) yield* items.map(toTurn)
  }

  // Safety events

  /**
   * The most selective index serves the query and the other filters are FilterExpressions: a
   * user's partition (several, merged, for a parent's children), an animal's, a severity's;
   * everyone's is the three severity partitions merged.
   */
  async listSafetyEvents(query: SafetyEventQuery): Promise<Page<SafetyEvent>> {
    const { userIds, animalId, severity } = query
    let partitions: IndexPartition[]
    let filter: Filter | undefined
    if (userIds !== undefined) {
      partitions = userIds.map((value) => ({ index: SAFETY_INDEXES.byUser, attribute: 'userId', value }))
      filter = equalities({ animalId, severity })
    } else if (animalId !== undefined) {
      partitions = [{ index: SAFETY_INDEXES.byAnimal, attribute: 'animalId', value: animalId }]
      filter = equalities({ severity })
    } else {
      partitions = (severity ? [severity] : SEVERITIES).map((value) => ({ index: SAFETY_INDEXES.byBucket, attribute: 'bucket', value }))
    }
    const page = await this.#newestPage(partitions, EVENT_ORDER, query, safetyEventsScope(query), filter)
    return { items: page.items.map(toSafetyEvent), nextCursor: page.nextCursor }
  }

  /** Flagged-session markers from the safety table, then the sessions themselves. */
  async #listFlaggedSessions(query: SessionQuery): Promise<Page<Session>> {
    const partition: IndexPartition = query.userId !== undefined
      ? { index: SAFETY_INDEXES.byUser, attribute: 'userId', value: query.userId }
      : query.animalId !== undefined
        ? { index: SAFETY_INDEXES.byAnimal, attribute: 'animalId', value: query.animalId }
        : { index: SAFETY_INDEXES.byBucket, attribute: 'bucket', value: FLAGGED_BUCKET }
    const markers = await this.#newestPage([partition], FLAGGED_ORDER, query, sessionsScope(query))
    const found = await getItems(this.#doc, this.#tables.sessions, markers.items.map(({ sessionId }) => ({ sessionId })))
    const byId = new Map(found.map((item) => [item.sessionId, toSession(item)]))
    // A marker whose session was deleted a moment ago has no session: skipped.
    const sessions = markers.items.flatMap(({ sessionId }) => byId.get(sessionId) ?? [])
    return { items: sessions, nextCursor: markers.nextCursor }
  }

  // Idempotency

  async claimClientTurn(userId: string, clientTurnId: string, turnId: string): Promise<ClientTurnClaim> {
    const key = clientTurnKey(userId, clientTurnId)
    const claim = { ...key, kind: 'clientTurn', userId, clientTurnId, turnId, createdAt: new Date().toISOString(), [TTL_ATTRIBUTE]: this.#ttl() }
    // The claim can vanish between the failed put and the read (TTL, or its session deleted): claim again.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#putIfAbsent(this.#tables.conversations, claim, 'pk')) return { claimed: true }
      const existing = await this.#get(this.#tables.conversations, key)
      if (existing) return { claimed: false, turnId: existing.turnId as string }
    }
    throw new StorageUnavailableError('The idempotency claim keeps changing, please retry')
  }

  /** A conditional update (`turnId = stale`); when it fails the claim moved on or vanished: claim as usual. */
  async reclaimClientTurn(userId: string, clientTurnId: string, staleTurnId: string, turnId: string): Promise<ClientTurnClaim> {
    try {
      await call((o) => this.#doc.send(new UpdateCommand({
        TableName: this.#tables.conversations,
        Key: clientTurnKey(userId, clientTurnId),
        UpdateExpression: `SET turnId = :turnId, createdAt = :now, ${TTL_ATTRIBUTE} = :ttl`,
        ConditionExpression: 'turnId = :stale',
        ExpressionAttributeValues: { ':turnId': turnId, ':now': new Date().toISOString(), ':ttl': this.#ttl(), ':stale': staleTurnId },
      }), o))
      return { claimed: true }
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err
      return this.claimClientTurn(userId, clientTurnId, turnId)
    }
  }

  // Retention

  /**
   * Deletes every item whose TTL attribute is at or before `now` (epoch ms), for endpoints
   * without TTL (the embedded dynalite). A Scan per table: fine for the embedded store's size,
   * never needed on AWS, where DynamoDB's own TTL does this. Returns how many items went.
   */
  async sweepExpired(now = Date.now()): Promise<number> {
    let swept = 0
    for (const { input, ttlAttribute } of tableDefinitions(this.#tables)) {
      if (!ttlAttribute) continue
      const keyNames = input.KeySchema!.map((k) => k.AttributeName!)
      const scan: ScanCommandInput = {
        TableName: input.TableName,
        FilterExpression: '#ttl <= :now',
        ProjectionExpression: keyNames.map((_, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: { '#ttl': ttlAttribute, ...Object.fromEntries(keyNames.map((name, i) => [`#k${i}`, name])) },
        ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
      }
      let start: Item | undefined
      do {
        const page = await call((o) => this.#doc.send(new ScanCommand({ ...scan, ExclusiveStartKey: start }), o))
        const keys = (page.Items ?? []) as ItemKey[]
        await deleteItems(this.#doc, input.TableName, keys)
        swept += keys.length
        start = page.LastEvaluatedKey
      } while (start)
    }
    return swept
  }

  // Families

  async linkChild(parentId: string, childId: string): Promise<void> {
    const item = { parentId, childId, linkedAt: new Date().toISOString() }
    await call((o) => this.#doc.send(new PutCommand({ TableName: this.#tables.families, Item: item }), o))
  }

  async unlinkChild(parentId: string, childId: string): Promise<void> {
    await call((o) => this.#doc.send(new DeleteCommand({ TableName: this.#tables.families, Key: { parentId, childId } }), o))
  }

  async listChildren(parentId: string): Promise<string[]> {
    const children: string[] = []
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({
        TableName: this.#tables.families,
        KeyConditionExpression: 'parentId = :p',
        ExpressionAttributeValues: { ':p': parentId },
        ProjectionExpression: 'childId',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }), o))
      children.push(...(page.Items ?? []).map((item) => item.childId as string))
      start = page.LastEvaluatedKey
    } while (start)
    return children
  }

  async isLinked(parentId: string, childId: string): Promise<boolean> {
    return (await this.#get(this.#tables.families, { parentId, childId })) !== undefined
  }

  // Helpers

  #ttl(): number {
    return expiresAt(this.#retentionDays)
  }

  async #get(table: string, key: Item): Promise<Item | undefined> {
    const result = await call((o) => this.#doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }), o))
    return result.Item
  }

  /** A Put that only creates; false when an item with that key already exists. */
  async #putIfAbsent(table: string, item: Item, hashKey: string): Promise<boolean> {
    try {
      await call((o) => this.#doc.send(new PutCommand({
        TableName: table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#k)',
        ExpressionAttributeNames: { '#k': hashKey },
      }), o))
      return true
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false
      throw err
    }
  }

  /** An update of an existing session; a missing one is a 404. */
  async #updateSession(input: UpdateCommandInput & { Key: { sessionId: string } }): Promise<void> {
    try {
      await call((o) => this.#doc.send(new UpdateCommand(input), o))
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') throw notFound(`session '${input.Key.sessionId}'`)
      throw err
    }
  }

  /** Reads why TransactWriteItems was cancelled: turn already stored (fine), session gone (404), contention (503). */
  #transactionFailed(err: unknown, turn: Turn): void {
    const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons
    if ((err as Error).name !== 'TransactionCanceledException' || !reasons) throw err
    const [turnReason, , sessionReason] = reasons.map((reason) => reason.Code)
    if (turnReason === 'ConditionalCheckFailed') return
    if (sessionReason === 'ConditionalCheckFailed') throw notFound(`session '${turn.sessionId}'`)
    throw new StorageUnavailableError(undefined, { cause: err })
  }

  #turnsQuery(sessionId: string): QueryCommandInput {
    return {
      TableName: this.#tables.conversations,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :turn)',
      ExpressionAttributeValues: { ':pk': sessionPartition(sessionId), ':turn': TURN_SORT_PREFIX },
      ConsistentRead: true,
    }
  }

  /** Every turn item of a session, a page at a time, oldest first. */
  async *#turnPages(sessionId: string, extra: Partial<QueryCommandInput> = {}): AsyncGenerator<Item[]> {
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({
        ...this.#turnsQuery(sessionId),
        ...extra,
        Limit: MAX_PAGE_SIZE,
        ExclusiveStartKey: start,
      }), o))
      if (page.Items?.length) yield page.Items
      start = page.LastEvaluatedKey
    } while (start)
  }

  /** Deletes every item of one partition (pk) of a table, a page at a time. */
  async #deletePartition(table: string, pk: string): Promise<void> {
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }), o))
      await deleteItems(this.#doc, table, (page.Items ?? []) as ItemKey[])
      start = page.LastEvaluatedKey
    } while (start)
  }

  /**
   * One page, newest first, of the items whose `order` starts with `prefix` in one or more
   * partitions of the safety table's indexes, merged. The cursor is the `order` of the page's last
   * item: each partition is asked for items before it (`BETWEEN prefix AND cursor`, the cursor item
   * itself dropped), `limit + 1` of them, so the merged page knows whether more exist.
   */
  async #newestPage(partitions: IndexPartition[], prefix: string, query: PageQuery, scope: string, filter?: Filter): Promise<Page<Item>> {
    const limit = pageSize(query.limit)
    const before = query.cursor === undefined ? undefined : this.#cursors.decode(scope, query.cursor, ['order']).order
    if (before !== undefined && !before.startsWith(prefix)) throw invalidCursor()
    const perPartition = await Promise.all(partitions.map((partition) => this.#newestFirst(partition, prefix, before, limit + 1, filter)))
    const merged = perPartition.flat().sort((a, b) => compareKeys(b.order as string, a.order as string)).slice(0, limit + 1)
    const items = merged.slice(0, limit)
    const nextCursor = merged.length > limit ? this.#cursors.encode(scope, { order: items.at(-1)!.order as string }) : null
    return { items, nextCursor }
  }

  /** Up to `want` items of one partition before `before`, newest first; filtered items do not count. */
  async #newestFirst(partition: IndexPartition, prefix: string, before: string | undefined, want: number, filter?: Filter): Promise<Item[]> {
    // The next character after the prefix's last one: every `order` with the prefix sorts below it.
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
    const input: QueryCommandInput = {
      TableName: this.#tables.safety,
      IndexName: partition.index,
      KeyConditionExpression: '#h = :h AND #o BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#h': partition.attribute, '#o': 'order', ...filter?.names },
      ExpressionAttributeValues: { ':h': partition.value, ':lo': prefix, ':hi': before ?? end, ...filter?.values },
      FilterExpression: filter?.expression,
      ScanIndexForward: false,
    }
    const items: Item[] = []
    let start: Item | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({ ...input, Limit: want + 1, ExclusiveStartKey: start }), o))
      items.push(...(page.Items ?? []).filter((item) => item.order !== before))
      start = page.LastEvaluatedKey
    } while (start && items.length < want)
    return items.slice(0, want)
  }

  /**
   * One page of a keyset-paginated query. Asks for one item more than the page, so the last
   * page says so (nextCursor null) instead of leading to an empty page; the cursor is the key
   * of the page's last item, which must lie in the query's `partition`.
   */
  async #queryPage(input: QueryCommandInput, query: PageQuery, scope: string, keyAttributes: string[], partition: CursorKey): Promise<Page<Item>> {
    const limit = pageSize(query.limit)
    const start = query.cursor === undefined ? undefined : this.#cursors.decode(scope, query.cursor, keyAttributes, partition)
    let result
    try {
      result = await call((o) => this.#doc.send(new QueryCommand({ ...input, Limit: limit + 1, ExclusiveStartKey: start }), o))
    } catch (err) {
      // The checks above should leave DynamoDB nothing to refuse in a start key; if it still does, the cursor is at fault.
      if (start && (err as Error).name === 'ValidationException') throw invalidCursor()
      throw err
    }
    const items = result.Items ?? []
    let next: CursorKey | undefined
    if (items.length > limit) next = pick(items[limit - 1]!, keyAttributes)
    else if (result.LastEvaluatedKey) next = result.LastEvaluatedKey as CursorKey // the 1 MB response limit cut the page short
    return { items: items.slice(0, limit), nextCursor: next ? this.#cursors.encode(scope, next) : null }
  }
}

function pick(item: Item, attributes: string[]): CursorKey {
  return Object.fromEntries(attributes.map((name) => [name, String(item[name])]))
}

/** `attribute = value` for each attribute whose value is set, as one FilterExpression. */
function equalities(wanted: Record<string, string | undefined>): Filter | undefined {
  const pairs = Object.entries(wanted).filter((pair): pair is [string, string] => pair[1] !== undefined)
  if (pairs.length === 0) return undefined
  return {
    expression: pairs.map((_, i) => `#f${i} = :f${i}`).join(' AND '),
    names: Object.fromEntries(pairs.map(([name], i) => [`#f${i}`, name])),
    values: Object.fromEntries(pairs.map(([, value], i) => [`:f${i}`, value])),
  }
}
