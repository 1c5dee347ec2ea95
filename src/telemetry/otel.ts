// OpenTelemetry over OTLP/HTTP (JSON), loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
// Each app gets its own tracer and meter providers (nothing is registered globally), and every
// span and measurement is made after the turn has ended, from the engine's timings: a turn
// span `invoke_agent <animal>` with a child `chat <model>` per model call, and the GenAI client
// histograms. Nothing here runs while a reply streams.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import type { TurnEndObserver } from '../core/turn-observer.ts'
import { ERROR_TYPE, GEN_AI, GEN_AI_METRIC, OPERATION, SECONDS_BUCKETS, TOKEN_BUCKETS } from './genai.ts'
import { modelCallOf } from './model-call.ts'

export interface OtelOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; /v1/traces and /v1/metrics are appended. */
  endpoint: string
  serviceName: string
  metricExportIntervalMs: number
  /** The model the gateway asks for (gen_ai.request.model). */
  requestModel: () => string
  /** `openai`, or `offline` without an API key. */
  providerName: string
}

export interface Otel {
  observe: TurnEndObserver
  /** Exports what is pending and stops (on app close). */
  shutdown(): Promise<void>
}

const SCOPE = 'animal-chat-gateway'

export function startOtel(options: OtelOptions): Otel {
  const base = options.endpoint.replace(/\/+$/, '')
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName })
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` }))],
  })
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
      exportIntervalMillis: options.metricExportIntervalMs,
    })],
  })
  const tracer = tracerProvider.getTracer(SCOPE)
  const meter = meterProvider.getMeter(SCOPE)
  const tokenUsage = meter.createHistogram(GEN_AI_METRIC.tokenUsage, {
    unit: '{token}', description: 'Number of input and output tokens used', advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  })
  const duration = meter.createHistogram(GEN_AI_METRIC.operationDuration, {
    unit: 's', description: 'GenAI operation duration', advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  })
  const firstChunk = meter.createHistogram(GEN_AI_METRIC.timeToFirstChunk, {
    unit: 's', description: 'Time to receive the first chunk of a streamed response', advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  })

  const observe: TurnEndObserver = (turn, ending) => {
    const agent: Attributes = {
      [GEN_AI.operationName]: OPERATION.invokeAgent,
      [GEN_AI.agentId]: ending.animal.animalId,
      [GEN_AI.agentName]: ending.animal.name,
      [GEN_AI.conversationId]: turn.sessionId,
      'animal_chat.turn.id': turn.turnId,
      'animal_chat.turn.status': turn.status,
      'animal_chat.turn.stored': ending.stored,
    }
    const turnSpan = tracer.startSpan(`${OPERATION.invokeAgent} ${ending.animal.name}`, { kind: SpanKind.INTERNAL, startTime: ending.timing.startedAt, attributes: agent })
    const call = modelCallOf(turn, ending, options.requestModel(), options.providerName)
    if (call) {
      const attributes: Attributes = {
        [GEN_AI.operationName]: OPERATION.chat,
        [GEN_AI.providerName]: call.providerName,
        [GEN_AI.requestModel]: call.requestModel,
        [GEN_AI.responseModel]: call.responseModel,
      }
      const span = tracer.startSpan(`${OPERATION.chat} ${call.requestModel}`, {
        kind: SpanKind.CLIENT,
        startTime: call.startedAt,
        attributes: {
          ...attributes,
          [GEN_AI.conversationId]: turn.sessionId,
          [GEN_AI.inputTokens]: call.inputTokens,
          [GEN_AI.outputTokens]: call.outputTokens,
          [GEN_AI.finishReasons]: [call.finishReason],
          ...(call.timeToFirstChunkS !== undefined ? { [GEN_AI.timeToFirstChunk]: call.timeToFirstChunkS } : {}),
          ...(call.errorType ? { [ERROR_TYPE]: call.errorType } : {}),
        },
      }, trace.setSpan(ROOT_CONTEXT, turnSpan))
      if (call.errorType === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: 'the model call failed' })
      span.end(call.endedAt)
      tokenUsage.record(call.inputTokens, { ...attributes, [GEN_AI.tokenType]: 'input' })
      tokenUsage.record(call.outputTokens, { ...attributes, [GEN_AI.tokenType]: 'output' })
      duration.record(call.durationS, call.errorType ? { ...attributes, [ERROR_TYPE]: call.errorType } : attributes)
      if (call.timeToFirstChunkS !== undefined) firstChunk.record(call.timeToFirstChunkS, attributes)
    }
    if (turn.status === 'failed' || !ending.stored) {
      turnSpan.setStatus({ code: SpanStatusCode.ERROR, message: ending.stored ? 'the turn failed' : 'the turn could not be stored' })
    }
    turnSpan.end(ending.timing.endedAt)
  }

  return {
    observe,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()])
    },
  }
}
