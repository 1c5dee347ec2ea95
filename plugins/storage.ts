import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import type { StoragePort } from '../src/core/ports.ts'
import type { Animal } from '../src/core/types.ts'
import { createStorage } from '../src/storage/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: StoragePort
  }
}

const SEED_ANIMALS = new URL('../src/seed/animals.json', import.meta.url)

/** Storage: picks the adapter from config (embedded dynalite, a DynamoDB endpoint, AWS, memory) and seeds the animals. */
export default fp(
  async (app) => {
    const { storage, close } = await createStorage(app.config, app.log)
    app.decorate('storage', storage)
    app.addHook('onClose', close)
    const animals = JSON.parse(await readFile(SEED_ANIMALS, 'utf8')) as Animal[]
    await storage.seedAnimals(animals)
    app.log.info({ storage: storage.kind, animals: animals.length }, 'storage ready')
  },
  { name: 'storage', dependencies: ['config'] },
)
