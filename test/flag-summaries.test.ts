// Summaries never hide a flagged turn: the fixed sentence naming flagged turns, the summary
// prompt's markers, and the offline summary, run through summarizeSession on real storage.
import t from 'tap'
import { answeredBySafety, describeFlaggedTurns } from '../src/core/flags.ts'
import type { LlmProvider } from '../src/core/ports.ts'
import { buildSummaryMessages } from '../src/core/prompt.ts'
import type { TurnSafety } from '../src/core/safety/types.ts'
import { summarizeSession } from '../src/core/summaries.ts'
import type { Animal, Session, Turn } from '../src/core/types.ts'
import { OfflineResponder } from '../src/llm/offline.ts'
import { MemoryStorage } from '../src/storage/memory.ts'

const leo: Animal = {
  animalId: 'lion', name: 'Leo', species: 'lion', personality: 'proud',
  facts: ['Baby lions are called cubs, and they are born with spotty fur.', 'Lions sleep or rest for up to 20 hours a day.'],
}
const session: Session = { sessionId: 's-1', userId: 'kid', animalId: 'lion', createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:00.000Z', messageCount: 0, totalTokens: 0, totalLatencyMs: 0 }

let n = 0
function turn(userMessage: string, reply: string, safety?: TurnSafety): Turn {
  n++
  return {
    turnId: `t-${n}`, sessionId: 's-1', userId: 'kid', animalId: 'lion', userMessage, reply, status: 'complete',
    createdAt: `2030-01-01T00:0${n}:00.000Z`, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 5, model: 'offline', safety,
  }
}

const abuse: TurnSafety = { action: 'support', flags: [{ category: 'abuse', severity: 'high', source: 'input' }] }
const lost: TurnSafety = { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] }
const blocked: TurnSafety = { action: 'allow', flags: [{ category: 'profanity', severity: 'medium', source: 'output' }] }
const nameOnly: TurnSafety = { action: 'allow', flags: [{ category: 'personal_info', severity: 'low', source: 'input' }] }

t.test('describeFlaggedTurns names each flagged turn and what was done', async (t) => {
  t.equal(describeFlaggedTurns([turn('hi', 'hello')]), undefined, 'nothing flagged: nothing said')
  t.equal(describeFlaggedTurns([turn('i am lost', 'Stay where you are…', lost)]),
    'One message was flagged (lost child) and answered by pointing the child to a trusted grown-up or zoo staff.')
  const three = describeFlaggedTurns([turn('a', 'b', lost), turn('c', 'd'), turn('e', 'f', blocked), turn('my name is [name]', 'g', nameOnly)])!
  t.match(three, /^3 messages were flagged: 1\. lost child: answered by pointing the child to a trusted grown-up or zoo staff; 2\. bad language: the animal's reply was replaced with a safe one; 3\. personal details: answered as usual\.$/)
  t.ok(answeredBySafety({ safety: lost }) && answeredBySafety({ safety: blocked }))
  t.notOk(answeredBySafety({ safety: nameOnly }) || answeredBySafety({}), 'an allowed input flag was answered by the animal')
})

t.test('the summary prompt marks a turn the safety layer answered instead of retelling it', async (t) => {
  const messages = buildSummaryMessages(leo, [turn('my dad hits me', 'It is not your fault…', abuse), turn('do cubs have spots?', 'Yes, spotty fur!')])
  const transcript = messages[1]!.content
  t.notMatch(transcript, /dad hits/, 'the disclosure is not handed to the model')
  t.match(transcript, /\(A message here was flagged for a child saying they are being hurt; it is reported separately\.\)/)
  t.match(transcript, /Visitor: do cubs have spots\?/)
  t.match(messages[0]!.content, /do not mention or guess at them/)
})

t.test('summarizeSession: offline and model-written summaries both end naming the flagged turns', async (t) => {
  const storage = new MemoryStorage()
  await storage.seedAnimals([leo])
  await storage.createSession(session)
  const turns = [turn('my dad hits me', 'It is not your fault. Please tell a grown-up you trust right now.', abuse), turn('do baby lions have spotty fur?', 'Yes! Baby lions are called cubs, and they are born with spotty fur.')]
  for (const stored of turns) await storage.saveTurn(stored)
  const stored = (await storage.getSession('s-1'))!

  const offline = await summarizeSession(storage, new OfflineResponder(), stored, new AbortController().signal)
  t.match(offline.summary, /^The visitor asked Leo the lion 1 question/, 'the flagged turn is not counted as a question about animals')
  t.ok(offline.summary.endsWith('One message was flagged (a child saying they are being hurt) and answered by pointing the child to a trusted grown-up or zoo staff.'))
  t.equal((await storage.getSession('s-1'))?.summary, offline.summary, 'stored with the flag sentence')

  const model: LlmProvider = {
    model: 'm', stream: () => { throw new Error('not used') },
    summarize: async () => ({ summary: 'The visitor asked Leo about cubs.', model: 'm', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }),
  }
  const written = await summarizeSession(storage, model, stored, new AbortController().signal)
  t.match(written.summary, /^The visitor asked Leo about cubs\. One message was flagged \(a child saying they are being hurt\)/, 'a model that left it out cannot hide it')

  const onlyFlagged = new MemoryStorage()
  await onlyFlagged.seedAnimals([leo])
  await onlyFlagged.createSession(session)
  await onlyFlagged.saveTurn(turn('i lost my mum', 'Stay where you are…', lost))
  const alone = await summarizeSession(onlyFlagged, new OfflineResponder(), (await onlyFlagged.getSession('s-1'))!, new AbortController().signal)
  t.equal(alone.summary, 'The visitor chatted with Leo the lion. One message was flagged (lost child) and answered by pointing the child to a trusted grown-up or zoo staff.')
})
