/** The slice of a pino logger the framework-free core uses (Fastify's logger fits it). */
export interface Log {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} }
