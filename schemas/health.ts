import { Type } from 'typebox'
import { noToken } from './common.ts'

export const healthSchema = {
  tags: ['health'],
  summary: 'Liveness: the process is up',
  ...noToken,
  response: { 200: Type.Object({ status: Type.Literal('ok') }) },
}

export const readySchema = {
  tags: ['health'],
  summary: 'Readiness: storage answers',
  ...noToken,
  response: {
    200: Type.Object({ status: Type.Literal('ready'), storage: Type.String() }),
    503: Type.Object({ status: Type.Literal('unavailable'), storage: Type.String(), message: Type.String() }),
  },
}

export const metricsSchema = {
  tags: ['health'],
  summary: 'Prometheus metrics (text exposition format)',
  ...noToken,
  response: { 200: { description: 'the metrics', content: { 'text/plain': { schema: Type.String() } } } },
}
