// The validator compiler for every route: TypeBox checks bodies exactly as sent (no coercion,
// no silently dropped fields). Query strings, params and headers arrive as text and are converted
// to the schema's types, but only from their plain spelling: an integer is digits (`20`, not
// `1.5`, `1e1`, `0x2` or `020`), a boolean is `true` or `false` (not `TRUE`, `1` or `yes`),
// because a lenient parser lets a typo or a fuzzer's guess mean something.
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'

const PLAIN: Record<string, { pattern: RegExp; expected: string }> = {
  integer: { pattern: /^-?(0|[1-9]\d*)$/, expected: 'an integer written in digits, e.g. 20' },
  number: { pattern: /^-?(0|[1-9]\d*)(\.\d+)?$/, expected: 'a number written in digits, e.g. 2.5' },
  boolean: { pattern: /^(true|false)$/, expected: 'true or false' },
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema)
  const fromText = httpPart !== 'body'
  const typed = fromText ? scalarProperties(schema) : []
  return (value): any => {
    if (fromText) {
      const error = spellingError(typed, value)
      if (error) return { error: [error] }
    }
    const converted = fromText ? Value.Convert(schema, value) : value
    if (check.Check(converted)) return { value: converted }
    return { error: check.Errors(converted) as FastifySchemaValidationError[] }
  }
}

/** The top-level properties of an object schema that are integers, numbers or booleans. */
function scalarProperties(schema: TSchema): Array<[string, keyof typeof PLAIN]> {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}
  return Object.entries(properties)
    .filter(([, property]) => typeof property.type === 'string' && property.type in PLAIN)
    .map(([name, property]) => [name, property.type as keyof typeof PLAIN])
}

function spellingError(typed: Array<[string, keyof typeof PLAIN]>, value: unknown): FastifySchemaValidationError | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  for (const [name, type] of typed) {
    const given = (value as Record<string, unknown>)[name]
    const texts = Array.isArray(given) ? given : [given]
    if (given !== undefined && texts.some((text) => typeof text !== 'string' || !PLAIN[type].pattern.test(text))) {
      return { keyword: 'type', instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, params: { type }, message: `must be ${PLAIN[type].expected}` }
    }
  }
  return undefined
}
