/** The slice of a pino logger the framework-free core uses (Fastify's logger fits it). */
export interface Log {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} }

/** Tokens passed as ?access_token= must never reach the logs. */
export function redactToken(url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
}
