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
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { AppError, notFound, StorageUnavailableError } from '../core/errors.ts'
import { silentLog, type Log } from '../core/log.ts'
import type { ClientTurnClaim, PageQuery, SessionQuery, StoragePort } from '../core/ports.ts'
import type { Animal, Page, Session, Turn } from '../core/types.ts'
import { AnimalCache, deepFreeze } from './animal-cache.ts'
import { deleteItems } from './batch.ts'
import { CursorCodec, invalidCursor, type CursorKey } from './cursor.ts'
import { call } from './dynamo-client.ts'
import {
  clientTurnKey,
  expiresAt,
  MESSAGES_PER_TURN,
  sessionItem,
  sessionPartition,
  toSession,
  toTurn,
  turnFootprint,
  turnItem,
  turnPointerItem,
  turnPointerKey,
  TURN_SORT_PREFIX,
  type ItemKey,
} from './items.ts'
import { checkSessionQuery, MAX_PAGE_SIZE, pageSize, sessionsScope, turnsScope } from './queries.ts'
import { ACTIVITY_BUCKET, SESSION_INDEXES, TTL_ATTRIBUTE, type TableNames } from './tables.ts'

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
   * condition instead of leaving an orphan; then every turn with its pointer and claim.
   * The sweep also runs when the session is already gone, so a retry finishes an interrupted delete.
   */
  async deleteSession(sessionId: string): Promise<boolean> {
    const deleted = await call((o) =>
      this.#doc.send(new DeleteCommand({ TableName: this.#tables.sessions, Key: { sessionId }, ReturnValues: 'ALL_OLD' }), o))
    for await (const turns of this.#turnPages(sessionId, { ProjectionExpression: 'sessionId, turnId, createdAt, userId, clientTurnId' })) {
      await deleteItems(this.#doc, this.#tables.conversations, turns.flatMap((item) => turnFootprint(toTurn(item))))
    }
    return deleted.Attributes !== undefined
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
   * still exists). On endpoints without transactions the same writes run one after another.
   */
  async saveTurn(turn: Turn): Promise<void> {
    const ttl = this.#ttl()
    const turnPut = {
      TableName: this.#tables.conversations,
      Item: turnItem(turn, ttl),
      ConditionExpression: 'attribute_not_exists(pk)',
    }
    const pointerPut = { TableName: this.#tables.conversations, Item: turnPointerItem(turn, ttl) }
    const sessionUpdate = {
      TableName: this.#tables.sessions,
      Key: { sessionId: turn.sessionId },
      UpdateExpression: `SET updatedAt = :activity, lastModel = :model, ${TTL_ATTRIBUTE} = :ttl ` +
        'ADD messageCount :messages, totalTokens :tokens, totalLatencyMs :latency',
      ConditionExpression: 'attribute_exists(sessionId)',
      ExpressionAttributeValues: {
        ':activity': turn.createdAt,
        ':model': turn.model,
        ':ttl': ttl,
        ':messages': MESSAGES_PER_TURN,
        ':tokens': turn.usage.totalTokens,
        ':latency': turn.latencyMs,
      },
    }
    if (this.#transactions) {
      try {
        await call((o) => this.#doc.send(new TransactWriteCommand({
          TransactItems: [{ Put: turnPut }, { Put: pointerPut }, { Update: sessionUpdate }],
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
