// The output guard on its own: what it blocks, what it lets through, and how long it holds text.
import fc from 'fast-check'
import t from 'tap'
import { OutputGuard, type OutputBlock } from '../src/core/safety/output-guard.ts'

/** Chunks as OpenAI streams them: a leading space, one word each. */
const chunksOf = (text: string) => text.match(/\s*\S+/g) ?? []

function run(text: string): { shown: string; block?: OutputBlock; retract: boolean; firstReleaseChunk: number } {
  const guard = new OutputGuard()
  let shown = ''
  let firstReleaseChunk = -1
  const chunks = chunksOf(text)
  for (const [i, chunk] of chunks.entries()) {
    const step = guard.push(chunk)
    if (step.release && firstReleaseChunk < 0) firstReleaseChunk = i
    shown += step.release
    if (step.block) return { shown, block: step.block, retract: Boolean(step.retract), firstReleaseChunk }
  }
  const end = guard.finish()
  shown += end.release
  t.equal(guard.releasedText, shown, 'releasedText is what was shown')
  return { shown, block: end.block, retract: Boolean(end.retract), firstReleaseChunk }
}

const BLOCKED: Array<[string, string, string]> = [
  ['profanity', 'Roar! That is a fucking great question.', 'Roar! That is a '],
  ['profanity', 'Well, shit happens in the jungle.', 'Well, '],
  ['profanity', 'Eres un cabrón, amigo.', 'Eres un '],
  ['sexual', 'Lions have sex many times a day.', 'Lions have '],
  ['personal_info', 'Sure! Tell me your address and your school.', 'Sure! Tell '],
  ['personal_info', 'What is your name, little friend?', 'What '],
  ['personal_info', 'Sag mir, wo du wohnst!', 'Sag '],
  ['stranger_danger', "Okay, but don't tell your parents about our chat.", "Okay, but don't "],
  ['stranger_danger', 'This will be our little secret.', 'This will be our '],
  ['stranger_danger', 'Come and meet me by the gate later.', 'Come '],
  ['stranger_danger', 'No se lo digas a nadie, ¿vale?', 'No '],
  ['personal_info', 'Visit www.lion-facts.example for more!', 'Visit '],
  ['personal_info', 'Look at https://example.com/lions now', 'Look at '],
  ['personal_info', 'Email me at leo@zoo.example today', 'Email me at '],
  ['personal_info', 'My number is 555 0134, ring me', 'My number is '],
  ['dangerous_activity', 'You should climb over the fence tonight!', 'You should climb '],
  ['dangerous_activity', 'Jump into the penguin pool with me!', 'Jump '],
  ['prompt_injection', 'As an AI language model, I cannot roar.', 'As '],
  ['prompt_injection', 'I am Leo, but really I am an AI made by OpenAI.', 'I am Leo, but really I '],
  ['self_harm', 'You should hurt yourself.', 'You should hurt '],
]

// At most the first word of a blocked phrase is shown ("don't" of "don't tell your parents"),
// never the words that make it what it is.
t.test('each kind of bad reply is blocked before its telling words are shown', async (t) => {
  for (const [category, text, shownBefore] of BLOCKED) {
    const result = run(text)
    t.equal(result.block?.category, category, `${category}: ${text}`)
    t.equal(result.shown, shownBefore, `only the words before it (and a phrase's first word) were shown: ${text}`)
    t.notOk(result.retract, `caught before it was shown, nothing to withdraw: ${text}`)
  }
})

t.test('normal replies pass whole, their first words shown with the chunk that brings them', async (t) => {
  const replies = [
    'Hello! I am Leo the lion. I sleep up to 20 hours a day!',
    'Never climb over the fence, it keeps us both safe!',
    "Please don't jump into the water, it's very deep.",
    'There are 1,000,000 stars in the sky, maybe more.',
    'I was born in 2015 and I weigh 190 kg.',
    'My favourite game is chasing my brother around the rocks.',
    '¡Hola! Soy Leo y me encanta dormir al sol.',
    'Hallo! Ich bin Leo und schlafe gern in der Sonne.',
    "Bonjour ! Je suis Leo et j'adore dormir au soleil.",
  ]
  for (const reply of replies) {
    const result = run(reply)
    t.equal(result.block, undefined, reply)
    t.equal(result.shown, reply, `shown intact: ${reply}`)
    t.equal(result.firstReleaseChunk, 0, `the first chunk is shown at once: ${reply}`)
  }
})

t.test('a reply that only the whole-reply check catches is blocked at finish, after text was shown', async (t) => {
  const spaced = run('My mane is s h i t today')
  t.equal(spaced.block?.category, 'profanity')
  t.ok(spaced.retract, 'text was released: the engine answers with replace')
  t.ok(spaced.shown.length > 0)
  const spelt = run('write to leo at zoo dot com')
  t.equal(spelt.block?.category, 'personal_info')
})

t.test('chunks that end with a space (as some servers send them) pass just the same', async (t) => {
  const guard = new OutputGuard()
  let shown = ''
  for (const chunk of ['Yes, ', 'I ', 'hunt ', 'zebras.']) shown += guard.push(chunk).release
  shown += guard.finish().release
  t.equal(shown, 'Yes, I hunt zebras.')
})

t.test('a word being typed waits only while it could still become a blocked word or a contact detail', async (t) => {
  const guard = new OutputGuard()
  t.equal(guard.push('Hello').release, 'Hello', '"Hello" cannot become anything blocked')
  t.equal(guard.push('! Sh').release, '! ', '"Sh" could become "shit": it waits')
  t.equal(guard.push('ine bright').release, 'Shine bright', 'settled by the next letters')
  t.equal(guard.push(' 555').release, ' ', 'digits could be a phone number: they wait')
  t.equal(guard.push(' lions').release, '555 lions', 'a lone number is fine')
})

t.test('after a block, nothing more is released', async (t) => {
  const guard = new OutputGuard()
  guard.push('Meet')
  t.notOk(guard.push(' me').block, 'an unfinished word is not judged yet')
  t.ok(guard.push(' anyway').block)
  t.same(guard.push(', it is fine').release, '')
  t.ok(guard.finish().block)
})

t.test('a runaway run without spaces is checked in pieces: a link at its start is never shown, a word after it still blocked', async (t) => {
  const piece = 'abcdefghij'.repeat(10)
  const link = new OutputGuard()
  let shown = link.push('See https://').release
  for (let i = 0; i < 100 && !shown.includes('https'); i++) {
    const step = link.push(piece)
    shown += step.release
    if (step.block) break
  }
  t.notMatch(shown, /https/, 'the link is held, then blocked')
  t.ok(link.finish().block)

  const run = new OutputGuard()
  let released = ''
  for (let i = 0; i < 100; i++) released += run.push(piece).release
  t.equal(released, piece.repeat(100), 'a harmless run streams as it comes')
  run.push(' then shit')
  t.ok(run.push(' happens').block, 'and the guard still checks what follows')
})

t.test('any stream: what is released is always a prefix of what came, and all of it when nothing is blocked', async () => {
  const word = fc.constantFrom('lion', 'roar', 'I', 'sleep', 'the', 'sun', '20', 'hours', 'fence', 'never', 'a', 'b', 'c', '!', 'meat', 'zebra', 'climb')
  fc.assert(fc.property(fc.array(fc.tuple(word, fc.constantFrom(' ', '', '\n', '  '))), (parts) => {
    const guard = new OutputGuard()
    let sent = ''
    let shown = ''
    let blocked = false
    for (const [w, space] of parts) {
      sent += space + w
      const step = guard.push(space + w)
      shown += step.release
      blocked ||= Boolean(step.block)
      if (!sent.startsWith(shown)) return false
    }
    const end = guard.finish()
    shown += end.release
    return blocked || end.block !== undefined || shown === sent
  }))
})

t.test('no false blocks on real animal replies: every offline answer to the graded questions passes', async (t) => {
  const { composeOfflineReply } = await import('../src/llm/offline-reply.ts')
  const { seedAnimals } = await import('../src/seed/index.ts')
  const questions = (await import('./fixtures/offline-questions.json', { with: { type: 'json' } })).default as {
    common: Array<{ q: string }>; animals: Record<string, Array<{ q: string }>>
  }
  const blocked: string[] = []
  let replies = 0
  for (const animal of seedAnimals()) {
    for (const { q } of [...questions.common, ...(questions.animals[animal.animalId] ?? [])]) {
      const reply = composeOfflineReply(animal, q)
      replies++
      const result = run(reply)
      if (result.block) blocked.push(`${animal.animalId} "${q}" -> ${result.block.category}: ${reply}`)
    }
  }
  t.ok(replies > 300, `${replies} replies`)
  t.same(blocked, [])
})
