import { Type } from 'typebox'
import { Id, errorResponses } from './common.ts'

export const FamilyParams = Type.Object({ parentId: Id('the parent\'s user id (their token\'s sub)') })

export const FamilyLinkParams = Type.Object({
  parentId: Id('the parent\'s user id (their token\'s sub)'),
  childId: Id('the child\'s user id (their token\'s sub)'),
})

export const Family = Type.Object({
  parentId: Type.String(),
  children: Type.Array(Type.String(), { description: 'the linked children\'s user ids' }),
})

const tags = ['families']

export const getFamilySchema = {
  tags,
  summary: 'A parent\'s linked children (admin, or that parent)',
  params: FamilyParams,
  response: { 200: Family, ...errorResponses },
}

export const linkChildSchema = {
  tags,
  summary: 'Link a child to a parent (admin); answers the family. Idempotent.',
  params: FamilyLinkParams,
  response: { 200: Family, ...errorResponses },
}

export const unlinkChildSchema = {
  tags,
  summary: 'Unlink a child from a parent (admin); answers the family. Idempotent.',
  params: FamilyLinkParams,
  response: { 200: Family, ...errorResponses },
}
