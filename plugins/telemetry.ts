import { setImmediate as nextTurn } from 'node:timers/promises'
import fp from 'fastify-plugin'
import { prometheusGenAiObserver } from '../src/telemetry/prometheus.ts'

/**
 * GenAI telemetry from every finished turn: the GenAI client histograms on /metrics, always;
 * with OTEL_EXPORTER_OTLP_ENDPOINT set, also traces and metrics over OTLP. The OpenTelemetry SDK
 * is imported only then, so it costs nothing when off.
 */
export default fp(
  async (app) => {
    const { telemetry, llm } = app.config
    const providerName = llm.apiKey ? 'openai' : 'offline'
    const requestModel = () => app.llm.model
    app.engine.observeTurnEnds(prometheusGenAiObserver(app.metricsRegistry, requestModel, providerName))
    if (!telemetry.otlpEndpoint) return
    const { startOtel } = await import('../src/telemetry/otel.ts')
    const otel = startOtel({
      endpoint: telemetry.otlpEndpoint,
      serviceName: telemetry.serviceName,
      metricExportIntervalMs: telemetry.metricExportIntervalMs,
      requestModel,
      providerName,
    })
    app.engine.observeTurnEnds(otel.observe)
    app.log.info({ endpoint: telemetry.otlpEndpoint }, 'OpenTelemetry: traces and metrics go out over OTLP/HTTP')
    app.addHook('onClose', async () => {
      await nextTurn() // observers of the last turns run on the tick after they end
      await otel.shutdown()
    })
  },
  { name: 'telemetry', dependencies: ['config', 'metrics', 'llm', 'conversation'] },
)
