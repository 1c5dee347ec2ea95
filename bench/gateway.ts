// How the benchmark runs the gateway: its environment (limits out of the way, the fake upstream
// as the model), tokens signed with the same secret, and its event-loop delay from /metrics.
import { createSigner } from 'fast-jwt'
import { EVENT_LOOP_SAMPLING_MS } from '../plugins/metrics.ts'

export const BENCH_JWT_SECRET = 'bench-secret-that-is-at-least-32-characters-long'
const LOTS = '1000000000'

export function gatewayEnv(upstreamUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STORAGE: 'memory',
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: upstreamUrl,
    OPENAI_MAX_RETRIES: '0',
    LLM_FALLBACK: 'none',
    LOG_LEVEL: 'info',
    JWT_SECRET: BENCH_JWT_SECRET,
    RATE_LIMIT_TURNS_PER_MINUTE: LOTS,
    RATE_LIMIT_IP_PER_MINUTE: LOTS,
    MAX_CONCURRENT_TURNS_PER_USER: LOTS,
    SHUTDOWN_GRACE_MS: '0',
    DATA_DIR: '/tmp/gateway-bench-data',
    ...extra,
  }
}

const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 })
export const token = (sub = 'bench-user') => sign({ sub, role: 'user' }) as string
export const authHeaders = (sub?: string) => ({ authorization: `Bearer ${token(sub)}` })

/** The gateway samples its event loop every EVENT_LOOP_SAMPLING_MS, and its figures include that interval. */
const SAMPLING_MS = EVENT_LOOP_SAMPLING_MS

export interface LoopDelay {
  p50: number
  p99: number
  max: number
}

/**
 * Reads the gateway's /metrics: event-loop delay in ms beyond the sampling interval (each scrape
 * resets the histogram, so it covers the time since the previous scrape) and V8 heap used in bytes.
 */
export async function gatewayMetrics(url: string): Promise<{ loop: LoopDelay; heapUsed: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const gauge = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? NaN)
  const delay = (name: string) => Math.max(0, gauge(name) * 1000 - SAMPLING_MS)
  return {
    loop: { p50: delay('nodejs_eventloop_lag_p50_seconds'), p99: delay('nodejs_eventloop_lag_p99_seconds'), max: delay('nodejs_eventloop_lag_max_seconds') },
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
  }
}
