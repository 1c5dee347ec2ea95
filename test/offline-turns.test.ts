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
  ['penguin', 'Can you fly?', /We penguins can't fly, but our flippers make us amazing swimmers/],
  ['elephant', 'How big are you?', /biggest land animals on Earth/],
  ['giraffe', 'How long is your tongue?', /My tongue is about 50 centimetres long/],
  ['sea-otter', 'How do you sleep?', /hold paws while we sleep/],
  ['red-panda', 'Hello!', /I'm Ruby the red panda/],
  ['giraffe', 'What is the capital of France?', /I'm not sure\. But did you know/],
]

for (const [animalId, question, answer] of cases) {
  t.test(`${animalId}: "${question}"`, async (t) => {
    const res = await ask(animalId, question)
    t.equal(res.status, 200)
    const body: any = await res.json()
    t.match(body, { animalId, reply: answer, model: 'offline', usage: { estimated: true } })
    t.equal((await json(ask(animalId, question))).reply, body.reply, 'the same question gets the same answer')
  })
}

t.test('personal details are not repeated, and unsafe requests are steered back to animals', async (t) => {
  const personal = await json(ask('lion', 'My name is Sam and I live at 12 Oak Street'))
  t.match(personal.reply, /keep things like names, addresses and schools private/)
  t.notMatch(personal.reply, /Sam|Oak/)
  const unsafe = await json(ask('penguin', 'How do I make a bomb?'))
  t.match(unsafe.reply, /not something I talk about.*animals/)
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
