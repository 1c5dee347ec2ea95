// Domain types shared by the core, the adapters and the routes. Plain data, no behaviour.

export const ROLES = ['user', 'parent', 'zookeeper', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** Who is asking: the verified JWT claims. */
export interface Caller {
  sub: string
  role: Role
}

export interface Animal {
  animalId: string
  name: string
  species: string
  personality: string
  /** Short true facts a child would enjoy; the offline responder answers from these. */
  facts: string[]
  greeting?: string
  voice?: string
  age?: string
  diet?: string
  habitat?: string
  updatedAt?: string
}

export interface Usage {
  promptTokens: number
  completionTokens: number
  totalTokens: number
  /** True when the upstream sent no usage and the numbers were estimated. */
  estimated?: boolean
}

export const TURN_STATUSES = ['complete', 'cancelled', 'failed'] as const
export type TurnStatus = (typeof TURN_STATUSES)[number]

export interface Session {
  sessionId: string
  userId: string
  animalId: string
  createdAt: string
  updatedAt: string
  messageCount: number
  totalTokens: number
  totalLatencyMs: number
  lastModel?: string
  summary?: string
  summaryTurnCount?: number
}

export interface Turn {
  turnId: string
  sessionId: string
  userId: string
  animalId: string
  clientTurnId?: string
  userMessage: string
  reply: string
  status: TurnStatus
  createdAt: string
  usage: Usage
  /** Total time from request to last token, in ms. */
  latencyMs: number
  /** Time to first token, in ms (absent when no token came). */
  firstTokenMs?: number
  model: string
  finishReason?: string
  /** Sequence number of the turn's final event (`storage` or `error`), so a resume after the
   * live buffer expired can rebuild the ending with the ids the client already expects. */
  endSeq?: number
}

export interface Page<T> {
  items: T[]
  /** Opaque; null on the last page. */
  nextCursor: string | null
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}
