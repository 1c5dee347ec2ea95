// The DynamoDB client with a bounded fault budget, and the translation of "storage is down"
// failures into StorageUnavailableError (HTTP 503, retryable).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { badRequest, StorageUnavailableError } from '../core/errors.ts'

export interface DynamoClientOptions {
  endpoint?: string
  region?: string
}

/** Attempts per call (first try + retries); the SDK backs off between them. */
const MAX_ATTEMPTS = 3
const CONNECTION_TIMEOUT_MS = 500
const REQUEST_TIMEOUT_MS = 1000

/**
 * With an endpoint (dynalite, DynamoDB Local, LocalStack) credentials default to a dummy pair
 * when none are in the environment and the region to us-east-1; without one, the AWS default
 * chains (env, profile, IMDS/ECS role) decide both.
 */
export function createDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined
  const hasEnvCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY)
  return new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? (local ? 'us-east-1' : undefined),
    credentials: local && !hasEnvCredentials ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  })
}

/** Whole-call deadline (all attempts included), so an outage answers fast instead of hanging. */
export const CALL_DEADLINE_MS = 2000

const UNAVAILABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  // While the store restarts (or a table is being recreated) the table is briefly unknown.
  'ResourceNotFoundException',
  'TimeoutError',
  'AbortError',
])

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET'])

/** True when the failure says "storage is not answering" rather than "this request is wrong". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const { code, $metadata } = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } }
  if (UNAVAILABLE_NAMES.has(err.name) || (code !== undefined && NETWORK_CODES.has(code))) return true
  return ($metadata?.httpStatusCode ?? 0) >= 500
}

/**
 * Runs one DynamoDB request under the whole-call deadline; a "storage is down" failure comes
 * out as StorageUnavailableError, anything else unchanged.
 */
export async function call<T>(request: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
  try {
    return await request({ abortSignal: AbortSignal.timeout(CALL_DEADLINE_MS) })
  } catch (err) {
    rethrowStorageError(err)
  }
}

/**
 * Rethrows `err`: as StorageUnavailableError when storage is down, as a 400 when DynamoDB refused
 * the request itself (ValidationException: only a client's ids or cursor can lead there, and
 * a 500 would invite retries that fail the same way).
 */
export function rethrowStorageError(err: unknown): never {
  if (err instanceof Error && err.name === 'ValidationException') {
    throw Object.assign(badRequest('The request was refused by storage as invalid: check the ids and the cursor you sent'), { cause: err })
  }
  if (err instanceof StorageUnavailableError || !isUnavailable(err)) throw err
  throw new StorageUnavailableError(undefined, { cause: err })
}
