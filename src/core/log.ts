import { parse } from 'node:querystring'

/** The slice of a pino logger the framework-free core uses (Fastify's logger fits it). */
export interface Log {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * The app's one query-string parser (Fastify's too, see src/app.ts), so what is redacted below
 * is exactly what a route would read: `access%5Ftoken` and `%61ccess_token` are `access_token`.
 */
export const parseQuery = (query: string): Record<string, string | string[] | undefined> => parse(query)

/** Query parameters whose values must never reach the logs. */
const SECRET_PARAMETERS = new Set(['access_token'])

/** The URL with every secret query parameter's value replaced by [redacted], however its name is encoded. */
export function redactToken(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const pairs = url.slice(start + 1).split('&').map((pair) => {
    const name = Object.keys(parseQuery(pair))[0]
    return name !== undefined && SECRET_PARAMETERS.has(name) ? `${pair.split('=')[0]}=[redacted]` : pair
  })
  return `${url.slice(0, start)}?${pairs.join('&')}`
}
