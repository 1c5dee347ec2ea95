// Parent-child links. They live in storage and every access check reads them from there, so a
// link or unlink takes effect on the very next request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, forbidden } from '../core/errors.ts'
import { mayDo, mayReadFamily } from '../core/policy.ts'
import type { Caller } from '../core/types.ts'
import { getFamilySchema, linkChildSchema, unlinkChildSchema } from '../../schemas/family.ts'

const familyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const family = async (parentId: string) => ({ parentId, children: await app.storage.listChildren(parentId) })
  const requireManager = (caller: Caller) => {
    if (!mayDo(caller, 'manage_families')) throw forbidden('Only admins may link or unlink children')
  }

  app.get('/families/:parentId', { schema: getFamilySchema }, async (request) => {
    const { parentId } = request.params
    if (!mayReadFamily(request.caller, parentId)) throw forbidden('Only admins and the parent may read a family')
    return family(parentId)
  })

  app.put('/families/:parentId/children/:childId', { schema: linkChildSchema }, async (request) => {
    requireManager(request.caller)
    const { parentId, childId } = request.params
    if (parentId === childId) throw badRequest('params.childId must differ from params.parentId')
    await app.storage.linkChild(parentId, childId)
    return family(parentId)
  })

  app.delete('/families/:parentId/children/:childId', { schema: unlinkChildSchema }, async (request) => {
    requireManager(request.caller)
    const { parentId, childId } = request.params
    await app.storage.unlinkChild(parentId, childId)
    return family(parentId)
  })
}

export default familyRoutes
