// Records each stored turn into its animal's day: works out the turn's topics, sentiment and
// whether it went unanswered, then makes one atomic addition (one UpdateItem on DynamoDB). It
// runs as an engine observer, after the turn's last event: never on the time to first token.
import type { Log } from '../core/log.ts'
import type { TurnEndObserver } from '../core/turn-observer.ts'
import type { Animal, Turn } from '../core/types.ts'
import { dayOf, turnIncrement, type SentimentLabel, type TurnAnalysis } from './counters.ts'
import { questionForAnalytics } from './question.ts'
import type { AnalyticsStore } from './store.ts'

/** Distinct unanswered questions one instance lists per animal per day; later ones are only counted. */
export const MAX_QUESTIONS_PER_DAY = 50
/** Animal-days whose listed questions are remembered (the oldest are forgotten first). */
const REMEMBERED_DAYS = 1000

/** What question understanding says about a visitor's message (`understandQuestion` in src/llm/offline-understand.ts). */
export interface QuestionReading {
  /** What it asks about, from the one list of topic names (`TOPICS`). */
  topics: readonly string[]
  /** False when the animal has nothing to answer it with. */
  answerable: boolean
}

export interface RecorderOptions {
  store: AnalyticsStore
  /** Question understanding: what a message is about and whether this animal can answer it. */
  understand: (message: string, animal: Animal) => QuestionReading
  sentiment: (text: string) => SentimentLabel
  /** Scrubs personal details from a question before it is kept (the safety layer's scrubber). */
  scrub?: (text: string) => string
  log: Log
  maxQuestionsPerDay?: number
}

export class AnalyticsRecorder {
  readonly #options: RecorderOptions
  readonly #maxQuestions: number
  readonly #pending = new Set<Promise<void>>()
  /** Per animal-day, the questions this instance has put on that day's list. */
  readonly #listed = new Map<string, Set<string>>()

  constructor(options: RecorderOptions) {
    this.#options = options
    this.#maxQuestions = options.maxQuestionsPerDay ?? MAX_QUESTIONS_PER_DAY
  }

  /** The engine's turn-end observer: every stored turn is counted, once; unstored ones are not. */
  readonly observe: TurnEndObserver = (turn, ending) => {
    if (!ending.stored) return
    const recording = this.record(turn, ending.animal, ending.newSession)
      .catch((err) => this.#options.log.warn({ err, turnId: turn.turnId }, 'turn not counted in analytics'))
      .finally(() => this.#pending.delete(recording))
    this.#pending.add(recording)
  }

  /** Counts one stored turn into its animal's day. */
  async record(turn: Readonly<Turn>, animal: Animal, newSession: boolean): Promise<void> {
    const day = dayOf(turn.createdAt)
    await this.#options.store.add(turn.animalId, day, turnIncrement(turn, this.analyse(turn, animal, newSession, day)))
  }

  /** Resolves when every recording started so far has finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }

  private analyse(turn: Readonly<Turn>, animal: Animal, newSession: boolean, day: string): TurnAnalysis {
    const understood = this.#options.understand(turn.userMessage, animal)
    // A turn the safety layer redirected or supported is not a question about the animal: its
    // words say nothing about topics ("my dad..." is not about babies), and its text is not one
    // to list. Only a reply the animal gave can count as "could not answer".
    const allowed = (turn.safety?.action ?? 'allow') === 'allow'
    const unanswered = allowed && !understood.answerable && turn.status === 'complete'
    const insights = { topics: allowed ? [...understood.topics] : [], unanswered }
    const question = unanswered ? questionForAnalytics(turn.userMessage, this.#options.scrub) : undefined
    return {
      newSession,
      insights,
      sentiment: this.#options.sentiment(turn.userMessage),
      unansweredQuestion: question !== undefined && this.#listable(`${turn.animalId}|${day}`, question) ? question : undefined,
    }
  }

  /** Whether the day's list has room for the question (it is already on it, or there is space). */
  #listable(animalDay: string, question: string): boolean {
    let listed = this.#listed.get(animalDay)
    if (!listed) {
      if (this.#listed.size >= REMEMBERED_DAYS) this.#listed.delete(this.#listed.keys().next().value!)
      listed = new Set()
      this.#listed.set(animalDay, listed)
    }
    if (listed.has(question)) return true
    if (listed.size >= this.#maxQuestions) return false
    listed.add(question)
    return true
  }
}
