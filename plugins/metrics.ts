import { Registry } from '@prometheus-io/client'
import fp from 'fastify-plugin'
import metrics from 'fastify-metrics'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's registry: other plugins register their own metrics here (served at /metrics). */
    metricsRegistry: Registry
  }
}

/**
 * Prometheus metrics at /metrics: process metrics and per-route HTTP histograms. Each app has its
 * own registry, so several instances in one process (tests, benchmarks) do not collide.
 */
export default fp(
  async (app) => {
    const registry = new Registry()
    app.decorate('metricsRegistry', registry)
    await app.register(metrics.default, {
      endpoint: '/metrics',
      defaultMetrics: { enabled: true, register: registry },
      routeMetrics: {
        enabled: true,
        registeredRoutesOnly: true,
        overrides: { histogram: { registers: [registry] }, summary: { registers: [registry] } },
      },
    })
  },
  { name: 'metrics' },
)
