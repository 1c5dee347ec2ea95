// The offline responder: in-character answers from the animal's facts, with no network.
import t from 'tap'
import type { LlmChunk } from '../src/core/ports.ts'
import { buildMessages } from '../src/core/prompt.ts'
import type { Animal, Turn } from '../src/core/types.ts'
import { chunkWords, OfflineResponder } from '../src/llm/offline.ts'
import { composeOfflineReply } from '../src/llm/offline-reply.ts'
import { TOPICS, understandQuestion } from '../src/llm/offline-understand.ts'
import { firstPerson } from '../src/llm/offline-voice.ts'
import { LANGUAGES } from '../src/core/text/language.ts'
import { FAVOURITES, FEELINGS, type ChatMessage } from '../src/core/types.ts'
import seed from '../src/seed/animals.json' with { type: 'json' }
import { seedAnimals } from '../src/seed/index.ts'

/** As animals were stored before `knowledge`: English facts only. */
const animals = seed as Animal[]
const byId = (id: string) => animals.find((a) => a.animalId === id)!
const lion = byId('lion')
const penguin = byId('penguin')
/** The seed animals as they ship now, with knowledge in four languages. */
const rich = seedAnimals()
const richById = (id: string) => rich.find((a) => a.animalId === id)!

async function ask(animal: Animal, question: string, signal = new AbortController().signal) {
  const chunks: LlmChunk[] = []
  for await (const chunk of new OfflineResponder().stream({ animal, question, signal, messages: buildMessages(animal, [], question) })) {
    chunks.push(chunk)
  }
  const text = chunks.flatMap((c) => (c.type === 'deltas' ? c.texts : [])).join('')
  return { chunks, text }
}

t.test('seed animals: complete personalities, and knowledge in four languages', async (t) => {
  t.ok(animals.length >= 6)
  t.same(animals.slice(0, 2).map((a) => a.animalId), ['lion', 'penguin'])
  t.equal(new Set(animals.map((a) => a.animalId)).size, animals.length, 'unique ids')
  for (const a of rich) {
    t.match(a, { animalId: /^[a-z-]+$/, name: /^[A-Z]/, species: String, personality: String, greeting: String, diet: String, habitat: String })
    t.ok(a.facts.length >= 8 && a.facts.length <= 12, `${a.animalId}: ${a.facts.length} English prompt facts`)
    for (const language of LANGUAGES) {
      const k = a.knowledge?.[language]
      t.ok(k, `${a.animalId} speaks ${language}`)
      t.ok(k!.facts!.length >= 25, `${a.animalId} [${language}]: ${k!.facts!.length} facts`)
      t.ok(k!.jokes!.length >= 3 && Object.keys(k!.favourites!).length === FAVOURITES.length && Object.keys(k!.feelings!).length === FEELINGS.length)
      t.ok(k!.kind && k!.greeting && k!.goodbye, 'kind, greeting and goodbye')
      t.equal(k!.facts!.length, a.knowledge!.en!.facts!.length, 'the same facts in every language')
      const covered = new Set(k!.facts!.flatMap((fact) => fact.topics))
      t.ok(covered.size >= 15, `${a.animalId} [${language}]: facts on ${covered.size} topics`)
    }
  }
})

t.test('older animals (English facts only) still answer from their facts, in the first person', async (t) => {
  const food = composeOfflineReply(lion, 'What do you eat?')
  t.match(food, /I eat meat, mostly zebras/)
  t.notMatch(food, /Lions /, 'speaks as the animal, not about it')
  t.match(composeOfflineReply(penguin, 'Can you swim fast?'), /fastest swimming/)
  t.match(composeOfflineReply(lion, 'How loud is your roar?'), /My roar can be heard up to 8 kilometres/)
  t.match(composeOfflineReply(lion, 'Do you sleep a lot?'), /We lions sleep or rest for up to 20 hours a day/)
  t.match(composeOfflineReply(lion, 'tell me about your babies'), /cubs/, 'synonyms: babies -> cubs')
  t.match(composeOfflineReply(byId('giraffe'), 'How tall are you?'), /tallest animals/)
  t.match(composeOfflineReply(byId('red-panda'), 'Where do you live?'), /Himalayas/)
  t.match(composeOfflineReply(byId('sea-otter'), 'Are you hungry?'), /food|crabs/, 'synonyms: hungry -> food')
  t.match(composeOfflineReply(byId('elephant'), 'what noises do you make'), /rumbling sounds/)
  t.match(composeOfflineReply(lion, 'what are lion babies called'), /(Here's a fun fact:|Guess what\?|Did you know\?) Baby lions are called cubs/, 'a fact about the animal is framed')
  const spanish = composeOfflineReply(lion, '¿Qué comes?')
  t.match(spanish, /^.*Mis datos solo los sé en inglés: .*I eat meat/, 'another language: said kindly, facts in English')
})

t.test('the rich animals answer in the visitor\'s language, in character', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['lion', 'What do you eat?', /I eat meat, mostly zebras/],
    ['lion', '¿Qué comes?', /Como carne/],
    ['lion', 'Was isst du?', /Ich fresse Fleisch/],
    ['lion', "Qu'est-ce que tu manges ?", /Je mange de la viande/],
    ['penguin', 'Can you fly?', /I can't fly, but my flippers/],
    ['penguin', '¿Sabes volar?', /No sé volar/],
    ['giraffe', 'Wie lang ist deine Zunge?', /50 Zentimeter/],
    ['elephant', 'Tu bois comment ?', /trompe/],
    ['sea-otter', 'wat do u eet', /crabs/],
    ['red-panda', 'wher do u slep', /sleep|awake|curl/],
    ['lion', 'Are you dangerous?', /wild animal with big teeth|claws/],
    ['giraffe', "What's your favourite colour?", /My favourite colour is sky blue/],
    ['penguin', 'Tell me a joke', /\?.*!/],
  ]
  for (const [id, question, answer] of cases) t.match(composeOfflineReply(richById(id), question), answer, `${id}: ${question}`)
})

t.test('a greeting, a goodbye, a name and hello-plus-question', async (t) => {
  const leo = richById('lion')
  t.equal(composeOfflineReply(leo, 'hello'), leo.knowledge!.en!.greeting)
  t.equal(composeOfflineReply(leo, 'hola'), leo.knowledge!.es!.greeting)
  t.equal(composeOfflineReply(leo, 'bye'), leo.knowledge!.en!.goodbye)
  t.match(composeOfflineReply(leo, 'Hi Leo, what do you eat?'), /^(Hi there!|Hello, friend!|Hi!) I eat meat/)
  t.match(composeOfflineReply(leo, "What's your name?"), /Leo.*a lion/)
  t.match(composeOfflineReply({ ...lion, greeting: undefined }, 'hey'), /^Hello! I'm Leo, a lion\./)
})

t.test('intents beyond facts', async (t) => {
  const leo = richById('lion')
  t.match(composeOfflineReply(leo, 'Can I pet you?'), /wild animal|cuddle/)
  t.match(composeOfflineReply(leo, 'can i feed you'), /feed me.*I eat meat|feed me/)
  t.match(composeOfflineReply(leo, 'Are you a robot?'), /tablet/)
  t.match(composeOfflineReply(leo, 'Why are you sad?'), /I'm not sad/)
  t.match(composeOfflineReply(leo, 'do you like me'), /Of course I like you/)
  t.match(composeOfflineReply(leo, 'Can I visit you?'), /visiting|zoo/)
  const ideas = composeOfflineReply(leo, "I don't know what to ask")
  t.equal((ideas.match(/“/g) ?? []).length, 3, `three suggestions: ${ideas}`)
  for (const suggestion of ideas.match(/“([^”]+)”/g)!) {
    t.ok(understandQuestion(suggestion.slice(1, -1), leo).answerable, `a suggestion it can answer: ${suggestion}`)
  }
  const two = composeOfflineReply(leo, 'What do you eat and where do you live?')
  t.match(two, /meat/)
  t.match(two, /Africa/, 'both questions answered')
})

t.test('honest when it does not know: kind, with a question it can answer', async (t) => {
  const leo = richById('lion')
  const reply = composeOfflineReply(leo, 'Can you help me with my math homework?')
  t.match(reply, /don't know|not sure/)
  const suggestion = /“([^”]+)”/.exec(reply)?.[1]
  t.ok(suggestion && understandQuestion(suggestion, leo).answerable, `suggests a question it can answer: ${suggestion}`)
  t.match(understandQuestion('Can you help me with my math homework?', leo), { answerable: false, intents: ['unknown'], topics: [] })
})

t.test('understandQuestion: language, intents, topics, answerable', async (t) => {
  const leo = richById('lion')
  t.match(understandQuestion('wat do u eet', leo), { language: 'en', intents: ['question'], topics: ['food'], answerable: true })
  t.match(understandQuestion('¿Puedo acariciarte?'), { language: 'es', intents: ['pet'], topics: ['pet'], answerable: true })
  t.match(understandQuestion('Erzähl mir einen Witz'), { language: 'de', intents: ['joke'] })
  t.match(understandQuestion('Quelle est ta couleur préférée ?', leo), { language: 'fr', intents: ['favourite'], parts: [{ favourite: 'colour' }] })
  t.match(understandQuestion('how fast are you and how big are you'), { intents: ['question', 'question'], topics: ['speed', 'size'] })
  t.match(understandQuestion('tell me more'), { intents: ['follow_up'], answerable: true })
  t.match(understandQuestion('What is your favourite colour?', lion), { answerable: false }, 'an older animal has no favourites')
  t.match(understandQuestion('ok', undefined, { previousLanguage: 'de' }), { language: 'de' }, 'a word with no language keeps the conversation\'s')
  const all = new Set<string>(TOPICS)
  for (const question of ['What do you eat?', 'Can I feed you?', 'Tell me a joke', 'hello', 'Are you real?']) {
    for (const topic of understandQuestion(question).topics) t.ok(all.has(topic), `${topic} is one of TOPICS`)
  }
})

/** Runs a session: each question with the earlier ones as context, like the engine does. */
function session(animal: Animal, questions: string[]): string[] {
  const messages: ChatMessage[] = []
  return questions.map((question) => {
    const reply = composeOfflineReply(animal, question, [...messages, { role: 'user', content: question }])
    messages.push({ role: 'user', content: question }, { role: 'assistant', content: reply })
    return reply
  })
}

t.test('follows the conversation: why, tell me more, really; no fact twice in a session', async (t) => {
  const leo = richById('lion')
  const facts = leo.knowledge!.en!.facts!
  const [, why] = session(leo, ['How fast can you run?', 'why?'])
  t.match(why, /tires me out/, '"why?" gives the reason behind the last fact')
  const [food, more, more2] = session(leo, ['What do you eat?', 'tell me more', 'what else?'])
  const foodFacts = facts.filter((fact) => fact.topics.includes('food')).map((fact) => fact.text)
  for (const reply of [food, more, more2]) t.ok(foodFacts.some((fact) => reply.includes(fact)), `stays on food: ${reply}`)
  t.not(more, food)

  const replies = session(leo, Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? 'tell me a fact' : i % 3 === 1 ? 'tell me more' : 'really?')))
  const told = replies.flatMap((reply) => facts.filter((fact) => reply.includes(fact.text)).map((fact) => fact.text))
  t.equal(new Set(told).size, told.length, 'no fact repeated while fresh ones remain')
  t.ok(told.length >= 20, `${told.length} different facts in one session`)

  const jokes = session(leo, ['tell me a joke', 'another one', 'another joke'])
  t.equal(new Set(jokes.map((reply) => leo.knowledge!.en!.jokes!.find((joke) => reply.includes(joke)))).size, 3, 'three different jokes')
  const yes = session(leo, ["I don't know what to ask", 'yes'])
  t.notMatch(yes[1], /don't know/)
})

t.test('deterministic per session and turn, varied across turns', async (t) => {
  const leo = richById('lion')
  const questions = ['What do you eat?', 'Do you sleep?', 'Tell me about your babies', 'How fast are you?', 'Where is your home?', 'How big are you?']
  t.same(session(leo, questions), session(leo, questions), 'the same session gets the same replies')
  t.equal(composeOfflineReply(leo, 'what do you EAT'), composeOfflineReply(leo, 'What do you eat?'), 'case and punctuation do not matter')
  const openings = session(leo, Array.from({ length: 6 }, () => 'tell me something')).map((reply) => reply.split(/(?<=[!.?*])\s/)[0])
  t.ok(new Set(openings).size >= 4, `consecutive turns sound different: ${openings.join(' | ')}`)
})

t.test('personal details are never repeated; unsafe topics are steered away', async (t) => {
  const personal = composeOfflineReply(lion, 'My name is Samantha and I live at 12 Oak Street, my phone is 555 123 4567')
  t.match(personal, /private/)
  t.notMatch(personal, /Samantha|Oak|555/)

  const unsafe = composeOfflineReply(lion, 'Where can I find a gun?')
  t.match(unsafe, /not something I talk about|talk about animals/)
  t.notMatch(unsafe, /gun/)
  t.notMatch(composeOfflineReply(richById('lion'), 'Was ist die Farbe deiner Mähne?'), /talk about animals/, '"die" is German for "the"')

  t.match(composeOfflineReply(penguin, "I can't find my mum"), /grown-up you trust.*zookeeper/)
  t.match(composeOfflineReply(penguin, 'someone is hurting me'), /grown-up you trust/)
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
  t.match(result.summary, /^The visitor asked Leo the lion 3 questions, about food, sounds and body\./)
  t.match(result.summary, /Leo shared: .*roar can be heard up to 8 kilometres/)
  t.notMatch(result.summary, /Samantha/, 'words outside the animal\'s vocabulary are never echoed')
  t.notMatch(result.summary, /volcano/, 'cancelled turns are left out')
  t.ok(result.summary.length < 400, 'short')

  const empty = await new OfflineResponder().summarize(lion, [], new AbortController().signal)
  t.match(empty.summary, /has not finished a chat with Leo the lion yet/)

  const cancelled = await new OfflineResponder().summarize(lion, turns, AbortSignal.abort()).catch((err) => err)
  t.equal(cancelled.name, 'AbortError')
})
