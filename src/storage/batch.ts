// Many items at once: BatchWriteItem in chunks of 25 and BatchGetItem in chunks of 100 (the API's
// limits), resending whatever DynamoDB leaves unprocessed (it does so under throttling) with
// exponential backoff.
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { StorageUnavailableError } from '../core/errors.ts'
import { call } from './dynamo-client.ts'
import type { ItemKey } from './items.ts'

const WRITE_BATCH_SIZE = 25
const GET_BATCH_SIZE = 100
const MAX_ROUNDS = 6
const FIRST_BACKOFF_MS = 50

type Item = Record<string, unknown>
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number]

export async function deleteItems(doc: DynamoDBDocumentClient, table: string, keys: ItemKey[]): Promise<void> {
  await writeItems(doc, table, keys.map((Key) => ({ DeleteRequest: { Key } })))
}

export async function putItems(doc: DynamoDBDocumentClient, table: string, items: Item[]): Promise<void> {
  await writeItems(doc, table, items.map((Item) => ({ PutRequest: { Item } })))
}

async function writeItems(doc: DynamoDBDocumentClient, table: string, requests: WriteRequest[]): Promise<void> {
  for (let start = 0; start < requests.length; start += WRITE_BATCH_SIZE) {
    let pending: Record<string, WriteRequest[]> = { [table]: requests.slice(start, start + WRITE_BATCH_SIZE) }
    for (let round = 0; Object.keys(pending).length > 0; round++) {
      await backOff(round, 'Storage is throttling writes, please retry shortly')
      const requestItems = pending
      const result = await call((options) => doc.send(new BatchWriteCommand({ RequestItems: requestItems }), options))
      pending = (result.UnprocessedItems ?? {}) as Record<string, WriteRequest[]>
    }
  }
}

/** The items with these keys that exist (strongly consistent), in no particular order. */
export async function getItems(doc: DynamoDBDocumentClient, table: string, keys: Item[]): Promise<Item[]> {
  const found: Item[] = []
  for (let start = 0; start < keys.length; start += GET_BATCH_SIZE) {
    let pending: Item[] = keys.slice(start, start + GET_BATCH_SIZE)
    for (let round = 0; pending.length > 0; round++) {
      await backOff(round, 'Storage is throttling reads, please retry shortly')
      const batch = pending
      const result = await call((options) => doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: batch, ConsistentRead: true } } }), options))
      found.push(...(result.Responses?.[table] ?? []))
      pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Item[]
    }
  }
  return found
}

async function backOff(round: number, message: string): Promise<void> {
  if (round === MAX_ROUNDS) throw new StorageUnavailableError(message)
  if (round > 0) await sleep(FIRST_BACKOFF_MS * 2 ** (round - 1))
}
