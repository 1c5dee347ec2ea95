import { Registry } from '@prometheus-io/client'
import fp from 'fastify-plugin'
import metrics from 'fastify-metrics'
import { metricsSchema } from '../schemas/health.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's registry: other plugins register their own metrics here (served at /metrics). */
    metricsRegistry: Registry
  }
}

/**
 * How often the event-loop delay is sampled (prom-client's default is 10 ms: a timer waking an
 * idle gateway 100 times a second). Each sample still measures the delay to the microsecond and
 * every block that spans a sample is seen whole; at 10 a second a 15 s scrape holds 150 samples.
 * The reported figures include the interval (a sample is the time between two wake-ups).
 */
export const EVENT_LOOP_SAMPLING_MS = 100

/**
 * Prometheus metrics at /metrics: process metrics and per-route HTTP histograms (no summaries). Each app has its
 * own registry, so several instances in one process (tests, benchmarks) do not collide.
 */
export default fp(
  async (app) => {
    const registry = new Registry()
    app.decorate('metricsRegistry', registry)
    await app.register(metrics.default, {
      endpoint: { url: '/metrics', method: 'GET', logLevel: 'fatal', exposeHeadRoute: false, schema: metricsSchema, handler: () => {} },
      defaultMetrics: { enabled: true, register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS },
      routeMetrics: {
        // Histograms only: quantiles come from them (histogram_quantile) and, unlike a summary's,
        // aggregate across instances. The summary added a second timer and a t-digest per route.
        enabled: { histogram: true, summary: false },
        registeredRoutesOnly: true,
        // fastify-metrics creates the summary even when it is off: register it nowhere (not in the
        // global registry, where several apps in one process would collide; not in /metrics, empty).
        overrides: { histogram: { registers: [registry] }, summary: { registers: [] } },
      },
    })
  },
  { name: 'metrics' },
)
