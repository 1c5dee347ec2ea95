// 6. The safety layer's own cost, in this process: CPU per visitor message (input classification
// and scrubbing, MODERATION=local), CPU per reply through the output guard, and the time to first
// token the guard adds: how long the first chunk of a reply waits before it may be shown, with
// chunks arriving at a model's pace (a held chunk waits for the next one).
import { readFileSync } from 'node:fs'
import { classifyInput } from '../../src/core/safety/classify.ts'
import { OutputGuard } from '../../src/core/safety/output-guard.ts'
import { ms, percentile, table } from '../stats.ts'

export interface SafetyOptions {
  /** How many times the whole message set and reply set are run. */
  rounds: number
  /** Time between two chunks of a reply (40 tokens/s: 25 ms). */
  chunkIntervalMs: number
}

/** Replies as an animal model writes them, to be cut into token-sized chunks. */
const REPLIES = [
  'Hello there, friend! I am Leo the lion, and I love sunny days. I sleep up to twenty hours a day, and when I wake up I roar so loudly that you can hear me five miles away.',
  'Roar! What a great question. I eat meat, mostly zebras and antelopes, and my pride shares every meal together.',
  'I love swimming! Penguins like me can dive deep into the cold water to catch fish, and we can hold our breath for a long time.',
  'My mane keeps me warm and makes me look big and strong. Did you know only boy lions have one?',
  'Oh, I do bite, but only my food! With visitors I just yawn and show my big teeth.',
  'Yes! We hunt together as a team. The lionesses are the best hunters in our pride.',
  'Hmm, let me think. I think my favourite thing is a long nap on a warm rock.',
  'Did you know that a group of penguins in the water is called a raft? Isn\'t that funny?',
  'What a fun question! My babies are called cubs, and they love to play with my tail.',
  'Well, I live in the grasslands of Africa in the wild, but here at the zoo I have a big garden.',
  '¡Hola! Soy Leo y me encanta dormir al sol. ¿Sabías que duermo veinte horas al día?',
  'Hallo! Ich bin Pip, der Pinguin. Ich schwimme jeden Tag und fresse gern Fisch.',
]

/** Chunks the way a model streams: a word with its leading space, punctuation on its own. */
const chunksOf = (text: string) => text.match(/\s*[\p{L}\p{N}'’]+|\s*[^\s\p{L}\p{N}]/gu) ?? []

function cpuMicros(run: () => void): number {
  const before = process.cpuUsage()
  run()
  const used = process.cpuUsage(before)
  return used.user + used.system
}

export function runSafety(options: SafetyOptions): { report: string } {
  const corpus = JSON.parse(readFileSync('test/fixtures/safety-corpus.json', 'utf8')) as { messages: Array<{ text: string }> }
  const messages = corpus.messages.map((m) => m.text)
  const replies = REPLIES.map(chunksOf)
  const guardReply = (chunks: string[]) => {
    const guard = new OutputGuard()
    for (const chunk of chunks) guard.push(chunk)
    guard.finish()
  }
  // Warm-up, so the figures are the steady state's, not the JIT's.
  for (const message of messages) classifyInput(message)
  for (const chunks of replies) guardReply(chunks)

  const inputUs = cpuMicros(() => { for (let r = 0; r < options.rounds; r++) for (const message of messages) classifyInput(message) }) / (options.rounds * messages.length)
  const outputUs = cpuMicros(() => { for (let r = 0; r < options.rounds; r++) for (const chunks of replies) guardReply(chunks) }) / (options.rounds * replies.length)
  const chunksPerReply = replies.reduce((sum, chunks) => sum + chunks.length, 0) / replies.length

  // Added time to first token: chunks the first release waited for, times the interval, plus the CPU of the pushes.
  const added: number[] = []
  for (let r = 0; r < options.rounds; r++) {
    for (const chunks of replies) {
      const guard = new OutputGuard()
      const started = performance.now()
      let waited = 0
      for (const [i, chunk] of chunks.entries()) {
        if (guard.push(chunk).release) {
          waited = i
          break
        }
      }
      added.push(waited * options.chunkIntervalMs + (performance.now() - started))
    }
  }
  added.sort((a, b) => a - b)

  // A runaway reply: the guard's cost per megabyte must not grow with the reply (it once did: quadratic).
  const runaway = (megabytes: number, piece: string) => {
    const guard = new OutputGuard()
    const pushes = (megabytes * 1_000_000) / piece.length
    return cpuMicros(() => {
      for (let i = 0; i < pushes; i++) guard.push(piece)
      guard.finish()
    }) / 1000 / megabytes
  }
  const runawayRows = [['words', 'hello there friend '], ['one run without spaces', 'abcdefghijklmnopqrs']].map(([kind, piece]) =>
    [`output guard on a runaway reply (${kind}, ${piece.length}-char deltas), CPU per MB at 1 / 4 MB`, `${ms(runaway(1, piece))} / ${ms(runaway(4, piece))} ms`, 'about equal'])
  const report = [
    table(['measure', 'value', 'target'], [
      ['input check (classify + scrub), CPU per message', `${ms(inputUs / 1000)} ms`, ''],
      [`output guard, CPU per reply (${chunksPerReply.toFixed(0)} chunks)`, `${ms(outputUs / 1000)} ms`, ''],
      ['safety CPU per turn (input + output)', `${ms((inputUs + outputUs) / 1000)} ms`, '< 0.2 ms'],
      [`added time to first token, p50 (chunks every ${options.chunkIntervalMs} ms)`, `${ms(percentile(added, 50))} ms`, '< 1 ms'],
      ['added time to first token, p95', `${ms(percentile(added, 95))} ms`, ''],
      ['added time to first token, max', `${ms(added.at(-1)!)} ms`, ''],
      ...runawayRows,
    ]),
    `${messages.length} messages (the labelled corpus: every category, language and disguise, and harmless questions), ` +
      `${replies.length} replies in 4 languages, ${options.rounds} rounds; the guard off adds nothing by definition.`,
  ].join('\n\n')
  return { report }
}
