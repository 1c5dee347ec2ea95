import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { forbidden, notFound } from '../core/errors.ts'
import { mayDo } from '../core/policy.ts'
import { getAnimalSchema, listAnimalsSchema, putAnimalSchema } from '../../schemas/animal.ts'

const animalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/animals', { schema: listAnimalsSchema }, async () => ({ animals: await app.storage.listAnimals() }))

  app.get('/animals/:animalId', { schema: getAnimalSchema }, async (request) => {
    const animal = await app.storage.getAnimal(request.params.animalId)
    if (!animal) throw notFound(`animal '${request.params.animalId}'`)
    return animal
  })

  app.put('/animals/:animalId', { schema: putAnimalSchema }, async (request) => {
    if (!mayDo(request.caller, 'manage_animals')) throw forbidden('Only zookeepers and admins may edit animals')
    const animal = { ...request.body, animalId: request.params.animalId, updatedAt: new Date().toISOString() }
    await app.storage.putAnimal(animal)
    return animal
  })
}

export default animalRoutes
