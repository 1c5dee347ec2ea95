// AnalyticsStore in process memory (STORAGE=memory): the same contract as the DynamoDB one.
import type { AnalyticsStore, DayIncrement, DayRecord } from '../analytics/store.ts'

export class MemoryAnalyticsStore implements AnalyticsStore {
  readonly #days = new Map<string, { counters: Record<string, number>; sketch: Set<number> }>()

  async add(animalId: string, day: string, increment: DayIncrement): Promise<void> {
    const key = JSON.stringify([animalId, day])
    const stored = this.#days.get(key) ?? { counters: {}, sketch: new Set<number>() }
    for (const [name, amount] of Object.entries(increment.counters)) stored.counters[name] = (stored.counters[name] ?? 0) + amount
    for (const element of increment.sketch) stored.sketch.add(element)
    this.#days.set(key, stored)
  }

  async days(animalId: string, from: string, to: string): Promise<DayRecord[]> {
    const records: DayRecord[] = []
    for (const [key, stored] of this.#days) {
      const [id, day] = JSON.parse(key) as [string, string]
      if (id === animalId && day >= from && day <= to) records.push({ animalId, day, counters: { ...stored.counters }, sketch: [...stored.sketch] })
    }
    return records.sort((a, b) => (a.day < b.day ? -1 : 1))
  }
}
