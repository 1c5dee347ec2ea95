import { Type } from 'typebox'

export const healthSchema = {
  tags: ['health'],
  summary: 'Liveness: the process is up',
  response: { 200: Type.Object({ status: Type.Literal('ok') }) },
}

export const readySchema = {
  tags: ['health'],
  summary: 'Readiness: storage answers',
  response: {
    200: Type.Object({ status: Type.Literal('ready'), storage: Type.String() }),
    503: Type.Object({ status: Type.Literal('unavailable'), storage: Type.String(), message: Type.String() }),
  },
}
