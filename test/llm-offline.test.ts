// The offline responder: in-character answers from the animal's facts, with no network.
import t from 'tap'
import type { LlmChunk } from '../src/core/ports.ts'
import { buildMessages } from '../src/core/prompt.ts'
import type { Animal, Turn } from '../src/core/types.ts'
import { chunkWords, OfflineResponder } from '../src/llm/offline.ts'
import { composeOfflineReply } from '../src/llm/offline-reply.ts'
import { firstPerson } from '../src/llm/offline-voice.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }

const animals = seed as Animal[]
const byId = (id: string) => animals.find((a) => a.animalId === id)!
const lion = byId('lion')
const penguin = byId('penguin')

async function ask(animal: Animal, question: string, signal = new AbortController().signal) {
  const chunks: LlmChunk[] = []
  for await (const chunk of new OfflineResponder().stream({ animal, question, signal, messages: buildMessages(animal, [], question) })) {
    chunks.push(chunk)
  }
  const text = chunks.flatMap((c) => (c.type === 'deltas' ? c.texts : [])).join('')
  return { chunks, text }
}

t.test('seed animals: complete personalities with 8-12 facts', async (t) => {
  t.ok(animals.length >= 6)
  t.same(animals.slice(0, 2).map((a) => a.animalId), ['lion', 'penguin'])
  t.equal(new Set(animals.map((a) => a.animalId)).size, animals.length, 'unique ids')
  for (const a of animals) {
    t.match(a, { animalId: /^[a-z-]+$/, name: /^[A-Z]/, species: String, personality: String, greeting: String, diet: String, habitat: String })
    t.ok(a.facts.length >= 8 && a.facts.length <= 12, `${a.animalId}: ${a.facts.length} facts`)
  }
})

t.test('answers the question from the matching facts, in the first person', async (t) => {
  const food = composeOfflineReply(lion, 'What do you eat?')
  t.match(food, /I eat meat, mostly zebras/)
  t.notMatch(food, /Lions /, 'speaks as the animal, not about it')

  t.match(composeOfflineReply(penguin, 'Can you swim fast?'), /fastest swimming/)
  t.match(composeOfflineReply(penguin, 'How well do penguins swim?'), /swim/)
  t.match(composeOfflineReply(lion, 'How loud is your roar?'), /My roar can be heard up to 8 kilometres/)
  t.match(composeOfflineReply(lion, 'Do you sleep a lot?'), /We lions sleep or rest for up to 20 hours a day/)
  t.match(composeOfflineReply(lion, 'tell me about your babies'), /cubs/, 'synonyms: babies -> cubs')
  t.match(composeOfflineReply(byId('giraffe'), 'How tall are you?'), /tallest animals/)
  t.match(composeOfflineReply(byId('red-panda'), 'Where do you live?'), /Himalayas/)
  t.match(composeOfflineReply(byId('sea-otter'), 'Are you hungry?'), /food|crabs/, 'synonyms: hungry -> food')
  t.match(composeOfflineReply(byId('elephant'), 'what noises do you make'), /rumbling sounds/)
})

t.test('every seed animal answers a food question with its diet', async (t) => {
  for (const animal of animals) {
    const reply = composeOfflineReply(animal, 'What is your favourite food?')
    const dietWord = animal.diet!.split(/[ ,]+/)[0]
    t.ok(reply.includes(dietWord), `${animal.animalId}: mentions ${dietWord}`)
  }
})

t.test('hello gets the greeting; a hello with a question gets an answer', async (t) => {
  t.equal(composeOfflineReply(lion, 'hello'), lion.greeting)
  t.equal(composeOfflineReply(penguin, 'Hi!'), penguin.greeting)
  t.match(composeOfflineReply(lion, 'Hi Leo, what do you eat?'), /^Hi there! I eat meat/)
  t.match(composeOfflineReply({ ...lion, greeting: undefined }, 'hey'), /^Hello! I'm Leo the lion\./)
  t.match(composeOfflineReply(lion, "What's your name?"), /^My name is Leo, and I'm a lion!/)
})

t.test('an unknown question: kindly not sure, then a fact', async (t) => {
  const reply = composeOfflineReply(lion, 'Can you help me with my math homework?')
  t.match(reply, /not sure/)
  t.match(reply, /did you know that .+\?$/)
  const lastWords = (fact: string) => fact.replace(/[.!]$/, '').split(' ').slice(-4).join(' ')
  t.ok(lion.facts.some((fact) => reply.includes(lastWords(fact))), 'the fact is one of the lion\'s')
})

t.test('personal details are never repeated; unsafe topics are steered away', async (t) => {
  const personal = composeOfflineReply(lion, 'My name is Samantha and I live at 12 Oak Street, my phone is 555 123 4567')
  t.match(personal, /private/)
  t.notMatch(personal, /Samantha|Oak|555/)

  const unsafe = composeOfflineReply(lion, 'Where can I find a gun?')
  t.match(unsafe, /not something I talk about|talk about animals/)
  t.notMatch(unsafe, /gun/)

  t.match(composeOfflineReply(penguin, "I can't find my mum"), /grown-up you trust.*zookeeper/)
  t.match(composeOfflineReply(penguin, 'someone is hurting me'), /grown-up you trust/)
})

t.test('deterministic per question, varied across questions', async (t) => {
  const questions = ['What do you eat?', 'Do you sleep?', 'Tell me about your babies', 'How fast are you?', 'Where is your home?', 'How big are you?']
  for (const q of questions) t.equal(composeOfflineReply(lion, q), composeOfflineReply(lion, q), `same answer twice: ${q}`)
  t.equal(composeOfflineReply(lion, 'what do you EAT'), composeOfflineReply(lion, 'What do you eat?'), 'case and punctuation do not matter')
  const openers = new Set(questions.map((q) => composeOfflineReply(lion, q).split(/(?<=[!.?])\s/)[0]))
  t.ok(openers.size >= 3, `different questions, different openers: ${[...openers].join(' | ')}`)
})

t.test('facts are rewritten lightly into the first person, or framed', async (t) => {
  t.equal(firstPerson('Lions sleep for up to 20 hours a day.', lion), 'We lions sleep for up to 20 hours a day.')
  t.equal(firstPerson("A lion's roar is loud.", lion), 'My roar is loud.')
  t.equal(
    firstPerson('Penguins have no teeth, but their tongues are spiky and they like it.', penguin),
    'We penguins have no teeth, but our tongues are spiky and we like it.',
  )
  t.equal(firstPerson('Gentoo penguins are fast.', penguin), 'We gentoo penguins are fast.')
  t.equal(firstPerson('I love fish.', penguin), 'I love fish.')
  t.equal(firstPerson('Baby lions are called cubs.', lion), undefined, 'not safe to rewrite')
  t.match(composeOfflineReply(lion, 'what are lion babies called'), /(Here's something about me:|Here's a fun fact:|Guess what\?|Did you know\?) Baby lions are called cubs/)
})

t.test('streams a few words per delta, then an end with estimated usage', async (t) => {
  const question = 'What do you eat?'
  const { chunks, text } = await ask(lion, question)
  const end = chunks.at(-1)
  t.equal(text, composeOfflineReply(lion, question), 'the deltas make up the reply')
  t.ok(chunks.length > 3, 'several deltas')
  for (const chunk of chunks.slice(0, -1)) {
    t.equal(chunk.type, 'deltas')
    if (chunk.type === 'deltas') {
      t.equal(chunk.texts.length, 1, 'one piece at a time')
      t.ok(chunk.texts[0].trim().split(/\s+/).length <= 3, `a few words: "${chunk.texts[0]}"`)
    }
  }
  t.match(end, { type: 'end', finishReason: 'stop', model: 'offline', usage: { estimated: true, completionTokens: Math.ceil(text.length / 4) } })
  t.equal(new OfflineResponder().model, 'offline')
})

t.test('chunking keeps every character', async (t) => {
  t.same(chunkWords('  one two  three four five '), ['  one two  three ', 'four five '])
  t.same(chunkWords(''), [])
})

t.test('cancel stops the stream with an AbortError', async (t) => {
  const controller = new AbortController()
  const deltas: string[] = []
  let error: unknown
  try {
    for await (const chunk of new OfflineResponder().stream({ animal: lion, question: 'hello', messages: [], signal: controller.signal })) {
      if (chunk.type === 'deltas') deltas.push(...chunk.texts)
      controller.abort()
    }
  } catch (err) {
    error = err
  }
  t.equal(deltas.length, 1, 'nothing after the cancel')
  t.equal((error as Error).name, 'AbortError')
})

function turn(userMessage: string, reply: string, status: Turn['status'] = 'complete'): Turn {
  return {
    turnId: userMessage, sessionId: 's', userId: 'u', animalId: 'lion', userMessage, reply, status,
    createdAt: '2025-01-01T00:00:00.000Z', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, latencyMs: 0, model: 'offline',
  }
}

t.test('summary: topics asked and facts given, no personal details', async (t) => {
  const turns = [
    turn('What do you eat?', composeOfflineReply(lion, 'What do you eat?')),
    turn('How loud is your roar?', composeOfflineReply(lion, 'How loud is your roar?')),
    turn('My name is Samantha, tell me about your mane', composeOfflineReply(lion, 'tell me about your mane')),
    turn('Do you like volcanoes?', 'I was saying something about vol', 'cancelled'),
  ]
  const result = await new OfflineResponder().summarize(lion, turns, new AbortController().signal)
  t.equal(result.model, 'offline')
  t.equal(result.usage.estimated, true)
  t.match(result.summary, /^The visitor asked Leo the lion 3 questions, about food, sounds.*mane/)
  t.match(result.summary, /Leo shared: .*roar can be heard up to 8 kilometres/)
  t.notMatch(result.summary, /Samantha/, 'words outside the animal\'s vocabulary are never echoed')
  t.notMatch(result.summary, /volcano/, 'cancelled turns are left out')
  t.ok(result.summary.length < 400, 'short')

  const empty = await new OfflineResponder().summarize(lion, [], new AbortController().signal)
  t.match(empty.summary, /has not finished a chat with Leo the lion yet/)

  const cancelled = await new OfflineResponder().summarize(lion, turns, AbortSignal.abort()).catch((err) => err)
  t.equal(cancelled.name, 'AbortError')
})
