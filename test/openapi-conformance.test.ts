// The OpenAPI document at /docs/json describes what the server really does. Every operation in
// it (routes added later included: nothing here names a route) is walked with inputs generated
// from its own schemas by fast-check: valid ones, and invalid ones of each kind the schemas
// allow (no token, over-long or malformed ids, badly spelled numbers and booleans, unknown enum
// values and fields, missing fields, wrong types, broken JSON, wrong media type, oversized
// bodies). Every answer must have a documented status and content type, match the documented
// schema, never be an undocumented 5xx, and every error must be in the operation's envelope:
// `{ error, message, retryable }`, or OpenAI's `{ error: { message, type, code, param } }` on the
// operations the document tags `openai` (the OpenAI-compatible facade, which is exactly /v1).
import fc from 'fast-check'
import t from 'tap'
import { Compile } from 'typebox/compile'
import { startApp } from './helpers/app.ts'

type Schema = Record<string, any>
interface Operation { method: string; path: string; op: Schema }
interface Request { method: string; url: string; headers: Record<string, string>; payload?: string }

const RUNS = Number(process.env.CONFORMANCE_RUNS ?? 60)
const BODY_LIMIT = 16384

const { app, token } = await startApp(t, {
  STORAGE: 'memory', RATE_LIMIT_IP_PER_MINUTE: '1000000', RATE_LIMIT_TURNS_PER_MINUTE: '1000000', MAX_CONCURRENT_TURNS_PER_USER: '1000',
  BODY_LIMIT_BYTES: String(BODY_LIMIT),
})
const doc = (await app.inject('/docs/json')).json() as Schema
const ROLES = ['user', 'parent', 'zookeeper', 'admin'] as const

// Ids that exist, so generated requests reach the success paths too, not only "not found".
// The fuzzed callers are fuzz-<role>; pam, a parent, is linked to fuzz-user.
const KNOWN: Record<string, string[]> = { animalId: ['lion', 'penguin'], userId: ['fuzz-user'], parentId: ['fuzz-parent'], childId: ['fuzz-user'], model: ['lion'] }
await app.inject({ method: 'PUT', url: '/families/fuzz-parent/children/fuzz-user', headers: { authorization: `Bearer ${token('root', 'admin')}` } })

/** A fresh session and turn of fuzz-user's (an earlier operation may have deleted the last). */
async function seedTurn(): Promise<void> {
  const headers = { authorization: `Bearer ${token('fuzz-user')}`, 'content-type': 'application/json' }
  const turn = (await app.inject({ method: 'POST', url: '/convo_turn', headers, payload: { animalId: 'lion', message: 'What do you eat?' } })).json()
  Object.assign(KNOWN, { sessionId: [turn.sessionId], turnId: [turn.turnId] })
}

const operations: Operation[] = Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, methods]) =>
  Object.entries(methods).filter(([method]) => !['parameters', 'head', 'options'].includes(method)).map(([method, op]) => ({ method: method.toUpperCase(), path, op })))

// ---- schemas -> arbitraries ------------------------------------------------------------------

/** OpenAPI 3.0's `nullable` as JSON Schema, so TypeBox can check answers against the document. */
function jsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchema)
  if (typeof schema !== 'object' || schema === null) return schema
  const { nullable, ...rest } = schema as Schema
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, jsonSchema(value)]))
  return nullable ? { anyOf: [converted, { type: 'null' }] } : converted
}

function valueOf(schema: Schema, name?: string): fc.Arbitrary<unknown> {
  const generated = generatedValue(schema)
  const known = name ? KNOWN[name] : undefined
  return known ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: generated }) : generated
}

function generatedValue(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum)
  if ('const' in schema) return fc.constant(schema.const)
  if (schema.anyOf ?? schema.oneOf) return fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: Schema) => generatedValue(s)))
  switch (schema.type) {
    case 'string': {
      const [min, max] = [schema.minLength ?? 0, Math.min(schema.maxLength ?? 40, 40)]
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }).filter((s) => s.length >= min && s.length <= max)
      if (schema.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }).map((d) => d.toISOString())
      if (schema.format === 'date') return fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
      return fc.string({ unit: 'binary', minLength: min, maxLength: Math.max(min, max) })
    }
    case 'integer': return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 })
    case 'number': return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true, noDefaultInfinity: true })
    case 'boolean': return fc.boolean()
    case 'array': return fc.array(generatedValue(schema.items ?? {}), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) })
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, s]) => [key, valueOf(s as Schema, key)]))
      return fc.record(properties, { requiredKeys: schema.required ?? [] })
    }
    default: return fc.constant('x')
  }
}

const parametersIn = (op: Schema, place: 'path' | 'query'): Schema[] => (op.parameters ?? []).filter((p: Schema) => p.in === place)
const bodySchema = (op: Schema): Schema | undefined => op.requestBody?.content?.['application/json']?.schema
const isSecured = (op: Schema) => (op.security ?? doc.security ?? []).length > 0
/** The content types the operation can answer with success, for Accept. */
const successTypes = (op: Schema) => Object.entries(op.responses).filter(([s]) => s.startsWith('2')).flatMap(([, r]) => Object.keys((r as Schema).content ?? {}))

interface Inputs { path: Record<string, string>; query: Record<string, unknown>; body: unknown; role: string; accept: string | undefined }

function inputsFor({ op }: Operation): fc.Arbitrary<Inputs> {
  const path = fc.record(Object.fromEntries(parametersIn(op, 'path').map((p) => [p.name, valueOf(p.schema, p.name)]))) as fc.Arbitrary<Record<string, string>>
  const queryParameters = parametersIn(op, 'query')
  const query = fc.record(Object.fromEntries(queryParameters.map((p) => [p.name, valueOf(p.schema, p.name)])) as Record<string, fc.Arbitrary<unknown>>, {
    requiredKeys: queryParameters.filter((p) => p.required).map((p) => p.name) as never[],
  })
  const schema = bodySchema(op)
  return fc.record({
    path, query, body: schema ? valueOf(schema) : fc.constant(undefined), role: fc.constantFrom(...ROLES),
    accept: fc.constantFrom<string | undefined>(undefined, ...successTypes(op)),
  })
}

function requestOf({ method, path }: Operation, inputs: Inputs): Request {
  const url = path.replace(/\{(\w+)\}/g, (_all, name: string) => encodeURIComponent(inputs.path[name]!))
  const query = new URLSearchParams(Object.entries(inputs.query).filter(([name]) => name !== 'access_token').map(([name, value]) => [name, String(value)])).toString()
  const headers: Record<string, string> = { authorization: `Bearer ${token(`fuzz-${inputs.role}`, inputs.role as never)}` }
  if (inputs.accept) headers.accept = inputs.accept
  if (inputs.body !== undefined) headers['content-type'] = 'application/json'
  return { method, url: query ? `${url}?${query}` : url, headers, payload: inputs.body === undefined ? undefined : JSON.stringify(inputs.body) }
}

// ---- invalid inputs: one mistake at a time, each with the status it must get -----------------

type Mistake = { label: string; expected: number; change: (request: Request, inputs: Inputs) => Request }

function mistakesFor(operation: Operation): Mistake[] {
  const { op } = operation
  const mistakes: Mistake[] = []
  const withQuery = (request: Request, name: string, value: string) => {
    const [path, query = ''] = request.url.split('?')
    const params = new URLSearchParams(query)
    params.set(name, value)
    return { ...request, url: `${path}?${params}` }
  }
  if (isSecured(op)) {
    mistakes.push({ label: 'no token', expected: 401, change: (r) => ({ ...r, headers: Object.fromEntries(Object.entries(r.headers).filter(([h]) => h !== 'authorization')) }) })
    mistakes.push({ label: 'a forged token', expected: 401, change: (r) => ({ ...r, headers: { ...r.headers, authorization: `${r.headers.authorization}x` } }) })
  }
  for (const p of parametersIn(op, 'path')) {
    const at = (value: string) => (r: Request, inputs: Inputs) => ({ ...r, url: r.url.replace(`/${encodeURIComponent(inputs.path[p.name]!)}`, `/${value}`) })
    if (p.schema.maxLength) mistakes.push({ label: `path ${p.name} too long`, expected: 414, change: at('a'.repeat(p.schema.maxLength + 1)) })
    if (p.schema.pattern) mistakes.push({ label: `path ${p.name} with a space`, expected: 400, change: at('a%20b') })
    mistakes.push({ label: `path ${p.name} undecodable`, expected: 400, change: at('%ZZ') })
  }
  for (const p of parametersIn(op, 'query')) {
    const spellings: Record<string, string[]> = { integer: ['1.5', '1e1', '0x2'], number: ['1e1', '0x2'], boolean: ['TRUE', '1', 'yes'] }
    for (const text of spellings[p.schema.type] ?? []) mistakes.push({ label: `query ${p.name}=${text}`, expected: 400, change: (r) => withQuery(r, p.name, text) })
    if (p.schema.enum) mistakes.push({ label: `query ${p.name} not one of the choices`, expected: 400, change: (r) => withQuery(r, p.name, 'not-a-choice') })
    if (p.schema.maxLength) mistakes.push({ label: `query ${p.name} too long`, expected: 400, change: (r) => withQuery(r, p.name, 'a'.repeat(p.schema.maxLength + 1)) })
  }
  const body = bodySchema(op)
  if (body) {
    const edit = (label: string, f: (value: Schema) => void): Mistake => ({
      label, expected: 400, change: (r) => { const value = JSON.parse(r.payload!); f(value); return { ...r, payload: JSON.stringify(value) } },
    })
    for (const name of body.required ?? []) mistakes.push(edit(`body without ${name}`, (value) => { delete value[name] }))
    for (const [name, s] of Object.entries(body.properties ?? {}) as Array<[string, Schema]>) {
      mistakes.push(edit(`body ${name} of the wrong type`, (value) => { value[name] = s.type === 'string' ? 42 : 'forty-two' }))
    }
    if (body.additionalProperties === false) mistakes.push(edit('body with an unknown field', (value) => { value.surprise = true }))
    mistakes.push({ label: 'body not JSON', expected: 400, change: (r) => ({ ...r, payload: '{"animalId": ' }) })
    mistakes.push({ label: 'body as text/plain', expected: 415, change: (r) => ({ ...r, headers: { ...r.headers, 'content-type': 'text/plain' } }) })
    mistakes.push({ label: 'body over the limit', expected: 413, change: (r) => ({ ...r, payload: JSON.stringify({ padding: 'x'.repeat(BODY_LIMIT) }) }) })
  }
  return mistakes
}

// ---- checking an answer against the document -------------------------------------------------

const validators = new Map<unknown, ReturnType<typeof Compile>>()
const validatorFor = (schema: Schema) => {
  if (!validators.has(schema)) validators.set(schema, Compile(jsonSchema(schema) as never))
  return validators.get(schema)!
}

/** What is wrong with an answer, according to the document (empty when nothing). */
function problemsWith({ op }: Operation, res: { statusCode: number; headers: Record<string, unknown>; body: string }): string[] {
  const documented = op.responses[String(res.statusCode)] as Schema | undefined
  if (!documented) return [`status ${res.statusCode} is not documented (${res.body.slice(0, 200)})`]
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim()
  if (!documented.content) return res.body === '' ? [] : [`${res.statusCode} is documented without a body, got ${type}: ${res.body.slice(0, 100)}`]
  if (!(type in documented.content)) return [`${res.statusCode} as ${type || 'no content type'}; documented: ${Object.keys(documented.content).join(', ')}`]
  const schema = documented.content[type].schema as Schema | undefined
  if (type !== 'application/json' || !schema) return []
  let body: unknown
  try { body = JSON.parse(res.body) } catch { return [`${res.statusCode}: the body is not JSON: ${res.body.slice(0, 100)}`] }
  const validator = validatorFor(schema)
  if (!validator.Check(body)) return [`${res.statusCode}: the body does not match the documented schema: ${JSON.stringify(validator.Errors(body)[0])} in ${res.body.slice(0, 200)}`]
  if (res.statusCode >= 400) return isOpenAi(op) ? openAiErrorProblems(res.statusCode, body as Schema, res.body) : serviceErrorProblems(res.statusCode, body as Schema, res.body)
  return []
}

/** The facade's operations (documented with the `openai` tag) answer errors in OpenAI's envelope. */
const isOpenAi = (op: Schema) => (op.tags ?? []).includes('openai')

function serviceErrorProblems(status: number, error: Schema, text: string): string[] {
  if (Object.keys(error).sort().join() !== 'error,message,retryable') return [`${status}: an error must be { error, message, retryable }: ${text}`]
  if (status < 500 && status !== 429 && error.retryable !== false) return [`${status}: a client error is not retryable`]
  return []
}

/** OpenAI's envelope, as its SDKs read it: `type` says whose fault it is, `code` which mistake. */
function openAiErrorProblems(status: number, body: Schema, text: string): string[] {
  const error = body.error as Schema | undefined
  if (Object.keys(body).join() !== 'error' || typeof error !== 'object' || Object.keys(error).sort().join() !== 'code,message,param,type') {
    return [`${status}: an error must be { error: { message, type, code, param } }: ${text}`]
  }
  if (!error.message || typeof error.code !== 'string') return [`${status}: an error names its code and says what went wrong: ${text}`]
  const type = status >= 500 ? 'server_error' : status === 429 ? 'requests' : status === 403 ? 'request_forbidden' : 'invalid_request_error'
  if (error.type !== type) return [`${status}: OpenAI's type for it is ${type}: ${text}`]
  return []
}

const send = (request: Request) => app.inject({ method: request.method as never, url: request.url, headers: request.headers, payload: request.payload })

t.ok(operations.length >= 15, `the document lists every operation (${operations.length})`)
t.ok(operations.some((o) => o.path === '/ws' && o.method === 'GET'), '/ws is documented, as a GET upgrade')
// No other route may take the facade's envelope (and with it this file's OpenAI checks).
t.same(operations.filter((o) => isOpenAi(o.op)).map((o) => o.path), operations.filter((o) => o.path.startsWith('/v1/')).map((o) => o.path),
  'the operations tagged openai are exactly the /v1 ones')
t.ok(operations.some((o) => isOpenAi(o.op)), 'the OpenAI-compatible facade is documented')

for (const operation of operations) {
  const name = `${operation.method} ${operation.path}`
  t.test(name, async (t) => {
    await seedTurn()
    const statuses = new Set<number>()
    await fc.assert(fc.asyncProperty(inputsFor(operation), async (inputs) => {
      const res = await send(requestOf(operation, inputs))
      statuses.add(res.statusCode)
      const problems = problemsWith(operation, res)
      if (problems.length) throw new Error(problems.join('; '))
    }), { numRuns: RUNS })
    t.pass(`valid inputs: every answer as documented (statuses seen: ${[...statuses].sort().join(', ')})`)

    const mistakes = mistakesFor(operation)
    await fc.assert(fc.asyncProperty(inputsFor(operation), fc.constantFrom(...mistakes.length ? mistakes : [undefined]), async (inputs, mistake) => {
      if (!mistake) return
      const res = await send(mistake.change(requestOf(operation, inputs), inputs))
      if (res.statusCode !== mistake.expected) throw new Error(`${mistake.label}: ${res.statusCode}, expected ${mistake.expected}: ${res.body.slice(0, 200)}`)
      const problems = problemsWith(operation, res)
      if (problems.length) throw new Error(`${mistake.label}: ${problems.join('; ')}`)
    }), { numRuns: Math.max(RUNS, mistakes.length * 2) })
    t.pass(`invalid inputs (${mistakes.map((m) => m.label).join(', ') || 'none apply'}): each refused with its status, as documented`)

    // The lock in /docs must tell the truth both ways.
    const anonymous = await send({ ...requestOf(operation, fc.sample(inputsFor(operation), { numRuns: 1, seed: 1 })[0]!), headers: {} })
    if (isSecured(operation.op)) t.equal(anonymous.statusCode, 401, 'documented as needing a token: 401 without one')
    else t.not(anonymous.statusCode, 401, 'documented as public: answers without a token')
  })
}
