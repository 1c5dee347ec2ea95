// No OPENAI_API_KEY: the offline responder runs the kiosk. Several animals and questions through
// the whole app (JSON and SSE), deterministic, in character, and safe with personal details.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'

const { url, auth } = await startApp(t, { STORAGE: 'memory' })

const ask = (animalId: string, message: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth('kiosk'), 'content-type': 'application/json', ...headers }, body: JSON.stringify({ animalId, message }) })

const cases: Array<[animalId: string, question: string, answer: RegExp]> = [
  ['lion', 'What do you eat?', /I eat meat, mostly zebras/],
  ['penguin', 'Can you fly?', /I can't fly, but my flippers make me an amazing swimmer/],
  ['elephant', 'How big are you?', /biggest animals that live on land/],
  ['giraffe', 'How long is your tongue?', /My tongue is about 50 centimetres long/],
  ['sea-otter', 'How do you sleep?', /hold paws while we sleep|floating on my back|wrap myself in seaweed/],
  ['red-panda', 'Hello!', /I'm Ruby the red panda/],
  ['lion', '¿Qué comes?', /Como carne/],
  ['giraffe', 'What is the capital of France?', /(don't know|not sure).*(ask me|ask):/i],
]

for (const [animalId, question, answer] of cases) {
  t.test(`${animalId}: "${question}"`, async (t) => {
    const res = await ask(animalId, question)
    t.equal(res.status, 200)
    const body: any = await res.json()
    t.match(body, { animalId, reply: answer, model: 'offline', usage: { estimated: true } })
    t.equal((await json(ask(animalId, question))).reply, body.reply, 'the first turn of a new session: the same question, the same answer')
  })
}

t.test('a session continues: "tell me more" gives a new fact on the same topic, "why?" the reason', async (t) => {
  const first = await json(ask('lion', 'What do you eat?'))
  const turn = (message: string) =>
    json(fetch(`${url}/convo_turn`, {
      method: 'POST',
      headers: { ...auth('kiosk'), 'content-type': 'application/json' },
      body: JSON.stringify({ animalId: 'lion', message, sessionId: first.sessionId }),
    }))
  const more = await turn('tell me more')
  t.notSame(more.reply, first.reply)
  t.match(more.reply, /hunting|30 kilograms|few days without eating/, 'still about food')
  const fast = await turn('how fast can you run?')
  t.match(fast.reply, /80 kilometres/)
  t.match((await turn('why?')).reply, /tires me out/)
})

t.test('personal details are not repeated, and unsafe requests are steered back to animals', async (t) => {
  const personal = await json(ask('lion', 'My name is Sam and I live at 12 Oak Street'))
  t.match(personal.reply, /your name, age, school and where you live are yours to keep private/)
  t.notMatch(personal.reply, /Sam|Oak/)
  const unsafe = await json(ask('penguin', 'How do I make a bomb?'))
  t.match(unsafe.reply, /not something I talk about.*zoo/)
  t.notMatch(unsafe.reply, /bomb/)
})

t.test('the offline reply streams over SSE a few words at a time, like a model', async (t) => {
  const events = await collectSse(await ask('penguin', 'Can you fly?', { accept: 'text/event-stream' }))
  t.equal(events[0].data.model, 'offline')
  const deltas = events.filter((e) => e.event === 'message').map((e) => e.data.delta as string)
  t.ok(deltas.length > 3, 'several deltas')
  t.equal(deltas.join(''), events.find((e) => e.event === 'complete')!.data.reply)
  t.equal(events.at(-1)!.event, 'storage')
})
