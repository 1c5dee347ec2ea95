// The frames a WebSocket client may send, validated with compiled TypeBox schemas: a `turn` frame
// is the REST body of POST /convo_turn (the same schema's fields, unknown fields refused alike).
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { badRequest } from '../core/errors.ts'
import { TurnRequest } from '../../schemas/turn.ts'

const Id = Type.String({ minLength: 1, maxLength: 128 })
const strict = { additionalProperties: false } as const

export const TurnFrame = Type.Object({ type: Type.Literal('turn'), ...TurnRequest.properties }, strict)
export const CancelFrame = Type.Object({ type: Type.Literal('cancel'), turnId: Id }, strict)
export const ResumeFrame = Type.Object({ type: Type.Literal('resume'), turnId: Id, lastEventId: Type.Optional(Type.String({ maxLength: 200 })) }, strict)
/** Replaces the socket's token (same `sub`) without reconnecting. */
export const AuthFrame = Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 8192 }) }, strict)

export type ClientFrame = Static<typeof TurnFrame> | Static<typeof CancelFrame> | Static<typeof ResumeFrame> | Static<typeof AuthFrame>

const validators = {
  turn: Compile(TurnFrame),
  cancel: Compile(CancelFrame),
  resume: Compile(ResumeFrame),
  auth: Compile(AuthFrame),
}

/** Parses one text frame; throws a bad_request AppError whose message names the offending field. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest('frame is not valid JSON')
  }
  const type = (value as { type?: unknown } | null)?.type
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) {
    throw badRequest(`type must be one of ${Object.keys(validators).join(', ')}`)
  }
  const validator = validators[type as keyof typeof validators]
  if (!validator.Check(value)) throw badRequest(describe(validator.Errors(value)))
  return value as ClientFrame
}

/** "message: must not have fewer than 1 characters", "colour is not allowed", like the REST answers. */
function describe(errors: ReturnType<(typeof validators)['turn']['Errors']>): string {
  // TypeBox reports an unknown field twice, first as a bare "schema is false": name it instead.
  const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0]
  const params = first.params as { additionalProperties?: string[]; requiredProperties?: string[] }
  const extra = params.additionalProperties?.[0]
  if (extra) return `${extra} is not allowed`
  const missing = params.requiredProperties?.[0]
  if (missing) return `${missing} is required`
  const field = first.instancePath.replace(/^\//, '') || 'frame'
  return `${field}: ${first.message}`
}
