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
