import t from 'tap'
import { buildMessages, buildSummaryMessages, buildSystemPrompt } from '../src/core/prompt.ts'
import type { Animal, Turn, TurnStatus } from '../src/core/types.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }

const animals = seed as Animal[]
const lion = animals.find((a) => a.animalId === 'lion')!

function turn(n: number, status: TurnStatus = 'complete'): Turn {
  return {
    turnId: `t${n}`,
    sessionId: 's1',
    userId: 'u1',
    animalId: 'lion',
    userMessage: `question ${n}`,
    reply: `answer ${n}`,
    status,
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString(),
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
    latencyMs: 10,
    model: 'test',
  }
}

t.test('system prompt: persona and the rules every animal keeps', async (t) => {
  const prompt = buildSystemPrompt(lion)
  t.matchSnapshot(prompt, 'lion system prompt')
  t.match(prompt, /^You are Leo the lion, a lion at the zoo/)
  t.match(prompt, lion.personality)
  for (const fact of lion.facts) t.ok(prompt.includes(`- ${fact}`), `lists fact: ${fact}`)
  t.match(prompt, /first person/)
  t.match(prompt, /2 to 4 sentences/)
  t.match(prompt, /children/)
  t.match(prompt, /unsafe, scary/)
  t.match(prompt, /Never ask for personal details.*address, school, phone/)
  t.match(prompt, /do not repeat them/)
  t.match(prompt, /say you are not sure instead of making it up/)

  const elephant = buildSystemPrompt(animals.find((a) => a.animalId === 'elephant')!)
  t.match(elephant, /^You are Ellie the African elephant, an African elephant/, 'article follows the species')

  const sparse = buildSystemPrompt({ animalId: 'owl', name: 'Olo', species: 'owl', personality: 'Wise.', facts: [], voice: 'Soft hoots.', age: '4 years' })
  t.match(sparse, /Voice: Soft hoots\.\nAge: 4 years\n/, 'optional voice and age are included')
  t.notMatch(sparse, /True facts/, 'no empty fact list')
  t.notMatch(sparse, /What you eat|Where your kind lives/, 'no empty diet or habitat')
})

t.test('context at the 13th turn: the last 10 messages of completed turns, oldest first', async (t) => {
  const history = Array.from({ length: 12 }, (_, i) => turn(i + 1, i + 1 === 10 ? 'cancelled' : 'complete'))
  const messages = buildMessages(lion, history, 'question 13', 10)

  t.equal(messages.length, 12, 'system + 10 context messages + the new question')
  t.same(messages[0], { role: 'system', content: buildSystemPrompt(lion) })
  t.same(
    messages.slice(1, -1).map((m) => `${m.role}: ${m.content}`),
    [7, 8, 9, 11, 12].flatMap((n) => [`user: question ${n}`, `assistant: answer ${n}`]),
    'turns 7, 8, 9, 11, 12 in order; the cancelled turn 10 is skipped whole',
  )
  t.same(messages.at(-1), { role: 'user', content: 'question 13' })
})

t.test('context: failed turns skipped, window size honoured', async (t) => {
  const history = [turn(1), turn(2, 'failed'), turn(3)]
  const contents = (n: number) => buildMessages(lion, history, 'now', n).map((m) => m.content).slice(1)

  t.same(contents(10), ['question 1', 'answer 1', 'question 3', 'answer 3', 'now'])
  t.same(contents(0), ['now'], 'no context at all')
  t.same(contents(3), ['question 3', 'answer 3', 'now'], 'an odd window does not start with an orphaned answer')
  t.same(buildMessages(lion, [], 'hi').length, 2, 'a new session: system prompt and question')
})

t.test('summary messages: completed turns as a transcript, most recent kept when too long', async (t) => {
  const turns = [turn(1), turn(2, 'cancelled'), turn(3)]
  const [system, user] = buildSummaryMessages(lion, turns)
  t.match(system.content, /summarise a conversation between a zoo visitor .* and Leo the lion/)
  t.match(system.content, /Do not include personal details/)
  t.equal(user.content, 'Conversation:\n\nVisitor: question 1\nLeo: answer 1\n\nVisitor: question 3\nLeo: answer 3')

  const many = Array.from({ length: 30 }, (_, i) => turn(i + 1))
  const [, short] = buildSummaryMessages(lion, many, 200)
  t.ok(short.content.length < 300, 'the transcript fits the budget')
  t.match(short.content, /earlier exchanges were left out/)
  t.match(short.content, /Visitor: question 30\nLeo: answer 30$/, 'the newest turn is kept')
  t.notMatch(short.content, /question 1\n/, 'the oldest turn is dropped')

  const huge = { ...turn(2), reply: `${'roar '.repeat(100)}the end` }
  const [, cut] = buildSummaryMessages(lion, [turn(1), huge], 60)
  t.match(cut.content, /1 earlier exchange was left out/)
  t.match(cut.content, /roar the end$/, 'a single turn longer than the budget keeps its end')
  t.ok(cut.content.length < 150)

  const [, none] = buildSummaryMessages(lion, [])
  t.match(none.content, /no completed exchanges/)
})
