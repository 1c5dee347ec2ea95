import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { parseRange, type DayRange } from '../analytics/range.ts'
import { usageCsv, type AnimalUsage } from '../analytics/report.ts'
import { forbidden } from '../core/errors.ts'
import { mayDo } from '../core/policy.ts'
import type { Caller } from '../core/types.ts'
import { analyticsSchema, animalAnalyticsSchema } from '../../schemas/analytics.ts'

const analyticsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { reader } = app.analytics

  app.get('/analytics/animals', { schema: analyticsSchema }, async (request, reply) => {
    const range = readableRange(request.caller, request.query, reader.today())
    const animals = await reader.all(range)
    return request.query.format === 'csv' ? sendCsv(reply, range, 'animals', animals) : { ...range, animals }
  })

  app.get('/analytics/animals/:animalId', { schema: animalAnalyticsSchema }, async (request, reply) => {
    const range = readableRange(request.caller, request.query, reader.today())
    const animal = await reader.one(request.params.animalId, range)
    return request.query.format === 'csv' ? sendCsv(reply, range, animal.animalId, [animal]) : { ...range, ...animal }
  })
}

function readableRange(caller: Caller, query: { from?: string; to?: string }, today: string): DayRange {
  if (!mayDo(caller, 'read_analytics')) throw forbidden('Only zookeepers and admins may read analytics')
  return parseRange(query, today)
}

function sendCsv(reply: FastifyReply, range: DayRange, name: string, animals: AnimalUsage[]) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="analytics-${name}-${range.from}-${range.to}.csv"`)
    .send(usageCsv(animals))
}

export default analyticsRoutes
