// The GenAI client histograms on /metrics, named after the OpenTelemetry conventions the way
// Prometheus spells them (dots become underscores, seconds get their unit suffix).
import { Histogram, type Registry } from '@prometheus-io/client'
import type { TurnEndObserver } from '../core/turn-observer.ts'
import { modelCallOf } from './model-call.ts'
import { OPERATION, SECONDS_BUCKETS, TOKEN_BUCKETS } from './genai.ts'

const LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'] as const

export function prometheusGenAiObserver(registry: Registry, requestModel: () => string, configuredProvider: string): TurnEndObserver {
  const tokens = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per model call, by gen_ai_token_type (input, output)',
    labelNames: [...LABELS, 'gen_ai_token_type'],
    buckets: TOKEN_BUCKETS,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of model calls, from asking to the end of the stream; error_type set when it failed or was cancelled',
    labelNames: [...LABELS, 'error_type'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  })
  const firstChunk = new Histogram({
    name: 'gen_ai_client_operation_time_to_first_chunk_seconds',
    help: 'Time from asking the model to its first chunk of text',
    labelNames: LABELS,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  })
  return (turn, ending) => {
    const call = modelCallOf(turn, ending, requestModel(), configuredProvider)
    if (!call) return
    const labels = {
      gen_ai_operation_name: OPERATION.chat,
      gen_ai_provider_name: call.providerName,
      gen_ai_request_model: call.requestModel,
      gen_ai_response_model: call.responseModel,
    }
    tokens.observe({ ...labels, gen_ai_token_type: 'input' }, call.inputTokens)
    tokens.observe({ ...labels, gen_ai_token_type: 'output' }, call.outputTokens)
    duration.observe({ ...labels, error_type: call.errorType ?? '' }, call.durationS)
    if (call.timeToFirstChunkS !== undefined) firstChunk.observe(labels, call.timeToFirstChunkS)
  }
}
