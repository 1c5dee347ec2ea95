import t from 'tap'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

const { url, auth } = await startApp(t, { STORAGE: 'memory' })

t.test('the default animals are seeded, with facts', async (t) => {
  const res = await fetch(`${url}/animals`, { headers: auth('alice') })
  t.equal(res.status, 200)
  const { animals } = await json(res)
  t.ok(animals.length >= 5, 'at least five animals')
  const ids = animals.map((a: { animalId: string }) => a.animalId)
  t.ok(ids.includes('lion') && ids.includes('penguin'))
  for (const animal of animals) {
    t.match(animal, { animalId: String, name: String, species: String, personality: String, facts: Array }, animal.animalId)
    t.ok(animal.facts.length >= 3, `${animal.animalId} has facts`)
  }
  const lion = await json(fetch(`${url}/animals/lion`, { headers: auth('alice') }))
  t.equal(lion.animalId, 'lion')
  t.equal((await fetch(`${url}/animals/unicorn`, { headers: auth('alice') })).status, 404)
  t.equal((await fetch(`${url}/animals`)).status, 401, 'a token is needed')
})

t.test('zookeepers edit animals, users may not, and the next turn uses the edit', async (t) => {
  const body = { name: 'Waddles', species: 'Gentoo penguin', personality: 'Chatty and curious.', facts: ['I can swim faster than 30 km/h.'] }
  const put = (role: 'user' | 'zookeeper', payload: unknown = body) =>
    fetch(`${url}/animals/gentoo`, { method: 'PUT', headers: { ...auth('keeper', role), 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  t.equal((await put('user')).status, 403)
  const bad = await put('zookeeper', { ...body, facts: [] })
  t.equal(bad.status, 400)
  t.match((await json(bad)).message, /facts/)
  const ok = await put('zookeeper')
  t.equal(ok.status, 200)
  t.match(await json(ok), { animalId: 'gentoo', name: 'Waddles' })

  const turn = await fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('alice'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'gentoo', message: 'How fast can you swim?' }),
  })
  t.equal(turn.status, 200)
  t.match((await json(turn)).reply, /30 km\/h/, 'the offline responder answers from the new facts')
})

t.test('the seed animals come with knowledge in four languages', async (t) => {
  const lion = await json(fetch(`${url}/animals/lion`, { headers: auth('alice') }))
  t.same(Object.keys(lion.knowledge).sort(), ['de', 'en', 'es', 'fr'])
  t.ok(lion.knowledge.es.facts.length >= 25)
  t.match(lion.knowledge.fr.facts[0], { topics: Array, text: String })
})

t.test('zookeepers extend what the offline responder knows, per language; bad knowledge is refused', async (t) => {
  const put = (payload: unknown) =>
    fetch(`${url}/animals/capybara`, { method: 'PUT', headers: { ...auth('keeper', 'zookeeper'), 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  const body = {
    name: 'Coco', species: 'capybara', personality: 'Very calm.', facts: ['Capybaras are the biggest rodents in the world.'],
    knowledge: {
      en: { kind: 'a capybara', facts: [{ topics: ['size', 'compare'], text: "I'm the biggest rodent in the world!" }], jokes: ['What do capybaras do on holiday? Chill!'] },
      es: { kind: 'un capibara', facts: [{ topics: ['water'], text: 'Me encanta bañarme en el agua.', why: 'El agua me refresca.' }], favourites: { colour: 'Mi color favorito es el marrón.' } },
    },
  }
  const ok = await put(body)
  t.equal(ok.status, 200)
  t.same((await json(ok)).knowledge, body.knowledge, 'stored and returned as given')

  const turn = async (message: string) =>
    (await json(fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'capybara', message }) }))).reply
  t.match(await turn('How big are you?'), /biggest rodent/)
  t.match(await turn('¿Te gusta el agua?'), /Me encanta bañarme/)
  t.match(await turn('¿Cuál es tu color favorito?'), /marrón/)
  t.match(await turn('Tell me a joke'), /Chill!/)

  const refused = async (knowledge: unknown, field: RegExp) => {
    const res = await put({ ...body, knowledge })
    t.equal(res.status, 400)
    t.match((await json(res)).message, field)
  }
  await refused({ en: { facts: [{ topics: ['homework'], text: 'x' }] } }, /knowledge\.en\.facts\.0\.topics/)
  await refused({ en: { facts: [{ topics: [], text: 'x' }] } }, /topics/)
  await refused({ it: { facts: [] } }, /knowledge\.it is not allowed/)
  await refused({ en: { favourites: { song: 'La la la' } } }, /favourites\.song is not allowed/)
  await refused({ en: { facts: [{ topics: ['food'], text: '' }] } }, /text/)
})
