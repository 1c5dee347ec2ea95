// 6. The offline responder alone: CPU time per reply in this process, for kiosk-like sessions.
// Every seed animal is asked the graded questions of test/fixtures/offline-questions.json in
// order, one session per animal and language, each reply given the last CONTEXT_MESSAGES
// messages as context, the way the engine builds a request (buildMessages). The first pass
// starts with empty memos (stems, spelling corrections, prepared facts); later passes show the
// steady state of a kiosk that has been answering for a while.
import { buildMessages, DEFAULT_CONTEXT_MESSAGES } from '../../src/core/prompt.ts'
import type { Animal, Turn } from '../../src/core/types.ts'
import { composeOfflineReply } from '../../src/llm/offline-reply.ts'
import { seedAnimals } from '../../src/seed/index.ts'
import fixture from '../../test/fixtures/offline-questions.json' with { type: 'json' }
import { median, table } from '../stats.ts'

export interface OfflineOptions {
  /** Measured passes over every session, after the first (cold) one. */
  rounds: number
}

interface Session {
  animal: Animal
  questions: string[]
}

function sessions(): Session[] {
  const { common, animals } = fixture as { common: Array<{ lang: string; q: string }>; animals: Record<string, Array<{ lang: string; q: string }>> }
  return seedAnimals().flatMap((animal) => {
    const all = [...common, ...(animals[animal.animalId] ?? [])]
    return ['en', 'es', 'de', 'fr'].map((lang) => ({ animal, questions: all.filter((q) => q.lang === lang).map((q) => q.q) }))
  })
}

function turn(animal: Animal, userMessage: string, reply: string): Turn {
  return {
    turnId: '', sessionId: '', userId: '', animalId: animal.animalId, userMessage, reply, status: 'complete', createdAt: '',
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, latencyMs: 0, model: 'offline',
  }
}

/** Plays every session once; returns the CPU microseconds spent in replies alone and the turn count. */
function pass(all: Session[]): { cpuUs: number; turns: number; slowestUs: number } {
  let cpuUs = 0
  let turns = 0
  let slowestUs = 0
  for (const { animal, questions } of all) {
    const history: Turn[] = []
    for (const question of questions) {
      const messages = buildMessages(animal, history, question, DEFAULT_CONTEXT_MESSAGES)
      const before = process.cpuUsage()
      const reply = composeOfflineReply(animal, question, messages)
      const used = process.cpuUsage(before)
      const us = used.user + used.system
      cpuUs += us
      slowestUs = Math.max(slowestUs, us)
      turns++
      history.push(turn(animal, question, reply))
    }
  }
  return { cpuUs, turns, slowestUs }
}

export async function runOffline(options: OfflineOptions): Promise<{ report: string; steadyUsPerTurn: number }> {
  const all = sessions()
  const cold = pass(all)
  const steady: number[] = []
  let slowest = 0
  for (let round = 0; round < options.rounds; round++) {
    const result = pass(all)
    steady.push(result.cpuUs / result.turns)
    slowest = Math.max(slowest, result.slowestUs)
  }
  const steadyUsPerTurn = median(steady)
  const report = [
    `${all.length} sessions (6 animals × 4 languages), ${cold.turns} turns a pass, context ${DEFAULT_CONTEXT_MESSAGES} messages; CPU time of composeOfflineReply alone (process.cpuUsage around each call).`,
    '',
    table(
      ['pass', 'CPU per turn (µs)', 'goal'],
      [
        ['first (memos empty)', (cold.cpuUs / cold.turns).toFixed(0), '< 1000'],
        [`steady (median of ${options.rounds})`, steadyUsPerTurn.toFixed(0), '< 1000'],
        ['slowest single turn, steady passes', slowest.toFixed(0), ''],
      ],
    ),
  ].join('\n')
  return { report, steadyUsPerTurn }
}
