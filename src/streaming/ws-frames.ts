// The frames a WebSocket client may send, validated with compiled TypeBox schemas.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { TurnRequest } from '../../schemas/turn.ts'

const Id = Type.String({ minLength: 1, maxLength: 128 })

export const TurnFrame = Type.Object({ type: Type.Literal('turn'), ...TurnRequest.properties })
export const CancelFrame = Type.Object({ type: Type.Literal('cancel'), turnId: Id })
export const ResumeFrame = Type.Object({ type: Type.Literal('resume'), turnId: Id, lastEventId: Type.Optional(Type.String({ maxLength: 200 })) })

export type ClientFrame = Static<typeof TurnFrame> | Static<typeof CancelFrame> | Static<typeof ResumeFrame>

const validators = {
  turn: Compile(TurnFrame),
  cancel: Compile(CancelFrame),
  resume: Compile(ResumeFrame),
}

/** Parses one text frame; throws a RangeError whose message names the offending field. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new RangeError('frame is not valid JSON')
  }
  const type = (value as { type?: unknown } | null)?.type
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) {
    throw new RangeError('type must be one of turn, cancel, resume')
  }
  const validator = validators[type as keyof typeof validators]
  if (!validator.Check(value)) {
    const [first] = validator.Errors(value)
    const field = first.instancePath.replace(/^\//, '') || 'frame'
    throw new RangeError(`${field}: ${first.message}`)
  }
  return value as ClientFrame
}
