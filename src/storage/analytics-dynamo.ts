// AnalyticsStore on DynamoDB: one item per animal per day (key animalId + day), grown by one
// UpdateItem per stored turn that ADDs every counter at once and unions the visitor sketch
// (a number set). ADD is atomic, so concurrent turns on any number of instances all count.
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { AnalyticsStore, DayIncrement, DayRecord } from '../analytics/store.ts'
import { call } from './dynamo-client.ts'
import { TTL_ATTRIBUTE } from './tables.ts'

/** The number set holding the day's distinct-visitor sketch. */
export const SKETCH_ATTRIBUTE = 'visitorSketch'
const KEY_ATTRIBUTES = new Set(['animalId', 'day', TTL_ATTRIBUTE, SKETCH_ATTRIBUTE])

export interface DynamoAnalyticsOptions {
  doc: DynamoDBDocumentClient
  table: string
  /** Days a day's item is kept after that day (DynamoDB TTL). */
  retentionDays: number
}

export class DynamoAnalyticsStore implements AnalyticsStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string
  readonly #retentionDays: number

  constructor(options: DynamoAnalyticsOptions) {
    this.#doc = options.doc
    this.#table = options.table
    this.#retentionDays = options.retentionDays
  }

  async add(animalId: string, day: string, increment: DayIncrement): Promise<void> {
    const names: Record<string, string> = { '#ttl': TTL_ATTRIBUTE }
    const values: Record<string, unknown> = { ':ttl': Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + (this.#retentionDays + 1) * 86_400 }
    const adds: string[] = []
    Object.entries(increment.counters).forEach(([name, amount], i) => {
      names[`#c${i}`] = name
      values[`:c${i}`] = amount
      adds.push(`#c${i} :c${i}`)
    })
    if (increment.sketch.length > 0) {
      names['#sketch'] = SKETCH_ATTRIBUTE
      values[':sketch'] = new Set(increment.sketch)
      adds.push('#sketch :sketch')
    }
    if (adds.length === 0) return
    await call((o) => this.#doc.send(new UpdateCommand({
      TableName: this.#table,
      Key: { animalId, day },
      UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = :ttl`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }), o))
  }

  /** One Query (eventually consistent: a turn counted a moment ago may show a moment later), page by page. */
  async days(animalId: string, from: string, to: string): Promise<DayRecord[]> {
    const records: DayRecord[] = []
    let start: Record<string, unknown> | undefined
    do {
      const page = await call((o) => this.#doc.send(new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'animalId = :a AND #day BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':a': animalId, ':from': from, ':to': to },
        ExclusiveStartKey: start,
      }), o))
      records.push(...(page.Items ?? []).map(toRecord))
      start = page.LastEvaluatedKey
    } while (start)
    return records
  }
}

function toRecord(item: Record<string, unknown>): DayRecord {
  const counters: Record<string, number> = {}
  for (const [name, value] of Object.entries(item)) if (!KEY_ATTRIBUTES.has(name) && typeof value === 'number') counters[name] = value
  const sketch = item[SKETCH_ATTRIBUTE]
  return { animalId: item.animalId as string, day: item.day as string, counters, sketch: sketch instanceof Set ? [...sketch].map(Number) : [] }
}
