// One turn's model call as the GenAI conventions describe it, worked out once from the stored
// turn and the engine's timings, for both exporters (Prometheus and OpenTelemetry).
import type { TurnEnding } from '../core/turn-observer.ts'
import type { Turn } from '../core/types.ts'
import { OFFLINE_MODEL } from '../llm/offline.ts'

export interface ModelCall {
  providerName: string
  requestModel: string
  responseModel: string
  inputTokens: number
  outputTokens: number
  finishReason: string
  startedAt: number
  endedAt: number
  /** Seconds from asking to the first chunk; absent when no chunk came. */
  timeToFirstChunkS?: number
  durationS: number
  /** `failed` or `cancelled` when the call did not finish normally. */
  errorType?: string
}

/**
 * The model call of a turn, or undefined when the model was not asked. `configuredProvider` is
 * the provider the gateway is set up with; a reply the offline responder gave (no API key, or the
 * fallback) is attributed to `offline`.
 */
export function modelCallOf(turn: Readonly<Turn>, ending: TurnEnding, requestModel: string, configuredProvider: string): ModelCall | undefined {
  const { modelStartedAt, modelEndedAt, firstChunkAt } = ending.timing
  if (modelStartedAt === undefined || modelEndedAt === undefined) return undefined
  return {
    providerName: turn.model.startsWith(OFFLINE_MODEL) ? OFFLINE_MODEL : configuredProvider,
    requestModel,
    responseModel: turn.model,
    inputTokens: turn.usage.promptTokens,
    outputTokens: turn.usage.completionTokens,
    finishReason: turn.finishReason ?? turn.status,
    startedAt: modelStartedAt,
    endedAt: modelEndedAt,
    ...(firstChunkAt !== undefined ? { timeToFirstChunkS: (firstChunkAt - modelStartedAt) / 1000 } : {}),
    durationS: (modelEndedAt - modelStartedAt) / 1000,
    ...(turn.status === 'complete' ? {} : { errorType: turn.status }),
  }
}
