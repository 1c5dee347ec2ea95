// Deleting many items: BatchWriteItem in chunks of 25 (the API's limit), resending whatever
// DynamoDB leaves unprocessed (it does so under throttling) with exponential backoff.
import { BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { StorageUnavailableError } from '../core/errors.ts'
import { call } from './dynamo-client.ts'
import type { ItemKey } from './items.ts'

const BATCH_SIZE = 25
const MAX_ROUNDS = 6
const FIRST_BACKOFF_MS = 50

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>

export async function deleteItems(doc: DynamoDBDocumentClient, table: string, keys: ItemKey[]): Promise<void> {
  for (let start = 0; start < keys.length; start += BATCH_SIZE) {
    let pending: WriteRequests = { [table]: keys.slice(start, start + BATCH_SIZE).map((Key) => ({ DeleteRequest: { Key } })) }
    for (let round = 0; Object.keys(pending).length > 0; round++) {
      if (round === MAX_ROUNDS) throw new StorageUnavailableError('Storage is throttling deletes, please retry shortly')
      if (round > 0) await sleep(FIRST_BACKOFF_MS * 2 ** (round - 1))
      const requestItems = pending
      const result = await call((options) => doc.send(new BatchWriteCommand({ RequestItems: requestItems }), options))
      pending = result.UnprocessedItems ?? {}
    }
  }
}
