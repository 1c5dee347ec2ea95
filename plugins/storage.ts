import fp from 'fastify-plugin'
import type { StoragePort } from '../src/core/ports.ts'
import { seedAnimals } from '../src/seed/index.ts'
import { createStorage } from '../src/storage/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: StoragePort
  }
}

/** Storage: picks the adapter from config (embedded dynalite, a DynamoDB endpoint, AWS, memory) and seeds the animals. */
export default fp(
  async (app) => {
    const { storage, close } = await createStorage(app.config, app.log)
    app.decorate('storage', storage)
    app.addHook('onClose', close)
    const animals = seedAnimals()
    await storage.seedAnimals(animals)
    app.log.info({ storage: storage.kind, animals: animals.length }, 'storage ready')
  },
  { name: 'storage', dependencies: ['config'] },
)
