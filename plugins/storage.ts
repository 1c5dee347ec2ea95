import fp from 'fastify-plugin'
import type { AnalyticsStore } from '../src/analytics/store.ts'
import type { StoragePort } from '../src/core/ports.ts'
import { seedAnimals } from '../src/seed/index.ts'
import { createStorage } from '../src/storage/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: StoragePort
    /** Per-animal, per-day analytics counters, on the same backend as `storage`. */
    analyticsStore: AnalyticsStore
  }
}

/** Storage: picks the adapter from config (embedded dynalite, a DynamoDB endpoint, AWS, memory), with its analytics store, and seeds the animals. */
export default fp(
  async (app) => {
    const { storage, analytics, close } = await createStorage(app.config, app.log)
    app.decorate('storage', storage)
    app.decorate('analyticsStore', analytics)
    app.addHook('onClose', close)
    const animals = seedAnimals()
    await storage.seedAnimals(animals)
    app.log.info({ storage: storage.kind, animals: animals.length }, 'storage ready')
  },
  { name: 'storage', dependencies: ['config'] },
)
