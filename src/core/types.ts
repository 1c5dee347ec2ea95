// Domain types shared by the core, the adapters and the routes. Plain data, no behaviour.
import type { FlagSource, SafetyAction, SafetyCategory, Severity, TurnSafety } from './safety/types.ts'
import type { Language } from './text/language.ts'

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
  /** Short true facts a child would enjoy, in English (the model's prompt lists them; the offline
   * responder answers from them when `knowledge` has nothing in the visitor's language). */
  facts: string[]
  greeting?: string
  voice?: string
  age?: string
  diet?: string
  habitat?: string
  /** What the offline responder knows and says, per language (en, es, de, fr). */
  knowledge?: Partial<Record<Language, AnimalKnowledge>>
  updatedAt?: string
}

/** What a fact can be about: the offline responder's topics (see src/llm/offline-understand.ts). */
export const KNOWLEDGE_TOPICS = [
  'food', 'home', 'babies', 'family', 'friends', 'play', 'sleep', 'size', 'speed', 'movement', 'sounds',
  'body', 'senses', 'water', 'weather', 'age', 'danger', 'enemies', 'compare', 'zoo',
] as const
export type KnowledgeTopic = (typeof KNOWLEDGE_TOPICS)[number]

export const FAVOURITES = ['colour', 'food', 'game', 'animal'] as const
export type Favourite = (typeof FAVOURITES)[number]

export const FEELINGS = ['happy', 'sad', 'lonely', 'scared', 'love'] as const
export type Feeling = (typeof FEELINGS)[number]

/** One true fact, said by the animal in the first person, with what it is about. */
export interface KnowledgeFact {
  topics: KnowledgeTopic[]
  text: string
  /** The reason behind it, for a visitor who asks "why?". */
  why?: string
}

/** Everything the animal says in one language, in its own voice. */
export interface AnimalKnowledge {
  /** What it is, with the article, as in "I'm …": "a lion", "un león", "ein Löwe", "un lion". */
  kind?: string
  greeting?: string
  goodbye?: string
  /** Little sounds and sayings that open a reply now and then ("Rrrroar!", "*flap flap*"). */
  catchphrases?: string[]
  facts?: KnowledgeFact[]
  jokes?: string[]
  favourites?: Partial<Record<Favourite, string>>
  /** Its answer to "are you happy / sad / lonely / scared?" and "do you like me?" (love). */
  feelings?: Partial<Record<Feeling, string>>
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
  /** Safety flags raised in the session's stored turns (absent: none). */
  safetyFlags?: number
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
  /** What the safety layer flagged on this turn (absent when nothing was). */
  safety?: TurnSafety
  /** Sequence number of the turn's final event (`storage` or `error`), so a resume after the
   * live buffer expired can rebuild the ending with the ids the client already expects. */
  endSeq?: number
}

/** One flag of one stored turn, as GET /safety/events lists it. */
export interface SafetyEvent {
  turnId: string
  sessionId: string
  userId: string
  animalId: string
  category: SafetyCategory
  severity: Severity
  source: FlagSource
  /** The turn's action. */
  action: SafetyAction
  /** The turn's createdAt. */
  createdAt: string
}

export interface Page<T> {
  items: T[]
  /** Opaque; null on the last page. */
  nextCursor: string | null
}

/**
 * A client's wishes for one reply, within the gateway's bounds (the OpenAI-compatible facade's
 * `temperature` and `max_tokens`): absent fields take the configured defaults, and the model
 * adapter never goes above its configured maximum tokens.
 */
export interface Sampling {
  /** 0..2 */
  temperature?: number
  /** At least 1; capped at OPENAI_MAX_TOKENS. */
  maxTokens?: number
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}
