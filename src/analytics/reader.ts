// Answers analytics queries: which animals, which days, read from the analytics store (one
// Query per animal, never a scan of conversations) and shaped by report.ts.
import { notFound } from '../core/errors.ts'
import type { Animal } from '../core/types.ts'
import { type DayRange, todayUtc } from './range.ts'
import { animalUsage, type AnimalUsage } from './report.ts'
import type { AnalyticsStore } from './store.ts'

export interface AnimalDirectory {
  listAnimals(): Promise<Animal[]>
  getAnimal(animalId: string): Promise<Animal | undefined>
}

export class AnalyticsReader {
  readonly #store: AnalyticsStore
  readonly #animals: AnimalDirectory
  readonly #clock: () => Date

  constructor(store: AnalyticsStore, animals: AnimalDirectory, clock: () => Date = () => new Date()) {
    this.#store = store
    this.#animals = animals
    this.#clock = clock
  }

  /** Today's UTC date, the end of the default range. */
  today(): string {
    return todayUtc(this.#clock())
  }

  /** Every animal's usage over the range (animals without turns included, with zeros), by animalId. */
  async all(range: DayRange): Promise<AnimalUsage[]> {
    const animals = await this.#animals.listAnimals()
    return Promise.all(animals.map((animal) => this.#usage(animal.animalId, range)))
  }

  /** One animal's usage; 404 for an animal that does not exist. */
  async one(animalId: string, range: DayRange): Promise<AnimalUsage> {
    if (!(await this.#animals.getAnimal(animalId))) throw notFound(`animal '${animalId}'`)
    return this.#usage(animalId, range)
  }

  async #usage(animalId: string, range: DayRange): Promise<AnimalUsage> {
    return animalUsage(animalId, range, await this.#store.days(animalId, range.from, range.to))
  }
}
