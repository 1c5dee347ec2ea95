import fp from 'fastify-plugin'
import { SafetyAlerts } from '../src/alerts/safety-alerts.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The engine tells it about every flagged turn: metrics, and the webhook for `high` flags. */
    safetyAlerts: SafetyAlerts
  }
}

/** How long shutdown waits for queued webhook deliveries. */
const WEBHOOK_SHUTDOWN_GRACE_MS = 5000

/** Safety alerts: safety_events_total in /metrics and, with SAFETY_WEBHOOK_URL, a POST for each `high` flag. */
export default fp(
  async (app) => {
    const { url, ...delivery } = app.config.safetyWebhook
    const alerts = new SafetyAlerts({ registry: app.metricsRegistry, log: app.log, webhook: url ? { url, ...delivery } : undefined })
    app.decorate('safetyAlerts', alerts)
    app.addHook('onClose', () => alerts.close(WEBHOOK_SHUTDOWN_GRACE_MS))
  },
  { name: 'safety-alerts', dependencies: ['config', 'metrics'] },
)
