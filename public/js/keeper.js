// The keeper page: a zookeeper (or admin) sees flagged sessions and safety events, the analytics,
// the animals (and edits their personality and facts), and recent conversations per animal.
// Public API only: GET /convo_history?flagged=true / ?animalId= / ?sessionId=, GET /safety/events,
// GET /analytics/animals, GET /animals, PUT /animals/{animalId}.
import { notice, problemText, safetyTable, sessionTable, showConversation, signIn, label } from './console.js'
import { byId, fill, h } from './dom.js'

signIn({ slot: 'keeper', roles: ['zookeeper', 'admin'], onSignedIn: showDesk })

const FIELDS = ['name', 'species', 'personality', 'greeting', 'voice', 'age', 'diet', 'habitat']

function showDesk(session) {
  const open = (s) => showConversation(byId('reader'), session, s)
  loadInto(byId('flagged-sessions'), 'Flagged conversations', session.api('/convo_history?flagged=true&limit=50'),
    (page) => [h('h3', {}, 'Flagged conversations'), sessionTable(page.sessions, { open, showUser: true })])
  loadInto(byId('safety-events'), 'The list of safety flags', session.api('/safety/events'),
    (page) => [h('h3', {}, 'Latest flags'), safetyTable(page.events, { open })])
  loadInto(byId('analytics-body'), 'Analytics', session.api('/analytics/animals'), analyticsTables)
  loadAnimals(session, open)
}

function loadInto(target, what, request, render) {
  fill(target, notice('Loading…'))
  request.then((body) => fill(target, render(body)))
    .catch((error) => fill(target, notice(problemText(error, what), error.unavailable ? 'info' : 'error')))
}

function analyticsTables({ from, to, animals }) {
  if (!animals?.length) return notice('No visits in this period yet.')
  const num = (value) => (typeof value === 'number' ? value.toLocaleString() : '')
  const sum = (record) => Object.values(record ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0)
  return [
    h('p', { class: 'meta' }, `${from} to ${to}`),
    h('div', { class: 'table-wrap' }, h('table', { class: 'sessions' },
      h('thead', {}, h('tr', {}, ['Animal', 'Turns', 'Sessions', 'Visitors', 'Reply p50 (ms)', 'Reply p95 (ms)', 'Safety flags', 'Top topics', 'Unanswered'].map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {}, animals.map((a) => h('tr', {},
        h('th', { scope: 'row' }, a.animalId),
        h('td', {}, num(a.totals?.turns)),
        h('td', {}, num(a.totals?.sessions)),
        h('td', {}, num(a.totals?.visitors)),
        h('td', {}, num(a.totals?.latencyMs?.p50)),
        h('td', {}, num(a.totals?.latencyMs?.p95)),
        h('td', {}, num(sum(a.totals?.safetyFlags))),
        h('td', {}, (a.topics ?? []).slice(0, 3).map((t) => `${label(t.topic)} (${t.count})`).join(', ')),
        h('td', {}, (a.unanswered ?? []).slice(0, 2).map((u) => `“${u.question}”`).join(' '))))))),
    h('div', { class: 'day-charts' }, animals.map(dayChart)),
  ]
}

/**
 * Turns per day as a bar chart, one per animal. Bar heights are set through the CSSOM (allowed
 * by the CSP, unlike style attributes); the numbers are also in the bars' titles and the label.
 */
function dayChart(animal) {
  const days = animal.days ?? []
  const most = Math.max(1, ...days.map((day) => day.turns ?? 0))
  const total = days.reduce((sum, day) => sum + (day.turns ?? 0), 0)
  const bars = days.map((day) => {
    const bar = h('span', { class: 'day-bar', title: `${day.date}: ${day.turns ?? 0} turns` })
    bar.style.height = `${Math.round(((day.turns ?? 0) / most) * 100)}%`
    return bar
  })
  return h('figure', { class: 'day-chart' },
    h('div', { class: 'day-bars', role: 'img', 'aria-label': `${animal.animalId}: ${total} turns over ${days.length} days, at most ${most} in a day` }, bars),
    h('figcaption', {}, `${animal.animalId}: turns per day`))
}

async function loadAnimals(session, open) {
  const list = byId('animal-list')
  fill(list, notice('Loading…'))
  let animals
  try {
    animals = (await session.api('/animals')).animals
  } catch (error) {
    return fill(list, notice(problemText(error, 'The animals'), 'error'))
  }
  fill(list,
    h('ul', { class: 'animal-rows' }, animals.map((animal) => h('li', {},
      h('img', { src: `/img/${encodeURIComponent(animal.animalId)}.svg`, alt: '', class: 'mini-face', onError: (e) => { e.target.src = '/img/paw.svg' } }),
      h('span', {}, h('strong', {}, animal.name), ` the ${animal.species}`, h('span', { class: 'meta' }, ` · ${animal.facts.length} facts`)),
      h('button', { type: 'button', class: 'button small', onClick: () => editAnimal(session, animal, () => loadAnimals(session, open)) }, `Edit ${animal.name}`)))),
    h('button', { type: 'button', class: 'button small', onClick: () => editAnimal(session, undefined, () => loadAnimals(session, open)) }, 'Add an animal'))

  const select = byId('recent-animal')
  const chosen = select.value
  fill(select, animals.map((animal) => h('option', { value: animal.animalId }, animal.name)))
  if (animals.some((animal) => animal.animalId === chosen)) select.value = chosen
  const showRecent = () => loadInto(byId('recent-sessions'), 'Recent conversations',
    session.api(`/convo_history?animalId=${encodeURIComponent(select.value)}&limit=20`),
    (page) => sessionTable(page.sessions, { open, showUser: true }))
  select.onchange = showRecent
  showRecent()
}

function editAnimal({ api }, animal, saved) {
  const form = byId('animal-form')
  const field = (name) => form.elements.namedItem(name)
  byId('animal-form-title').textContent = animal ? `Edit ${animal.name}` : 'Add an animal'
  field('animalId').value = animal?.animalId ?? ''
  field('animalId').readOnly = Boolean(animal)
  for (const name of FIELDS) field(name).value = animal?.[name] ?? ''
  field('facts').value = (animal?.facts ?? []).join('\n')
  fill(byId('animal-form-status'))
  form.hidden = false
  field(animal ? 'personality' : 'animalId').focus()

  form.onsubmit = async (event) => {
    event.preventDefault()
    const body = { facts: field('facts').value.split('\n').map((line) => line.trim()).filter(Boolean) }
    for (const name of FIELDS) {
      const value = field(name).value.trim()
      if (value) body[name] = value
    }
    const id = field('animalId').value.trim()
    try {
      const result = await api(`/animals/${encodeURIComponent(id)}`, { method: 'PUT', body })
      fill(byId('animal-form-status'), notice(`Saved ${result.name}. Visitors meet the new version from their next message.`))
      saved()
    } catch (error) {
      fill(byId('animal-form-status'), notice(error.status === 403 ? 'Your account may not edit animals.' : `Not saved: ${error.message}`, 'error'))
    }
  }
  byId('animal-cancel').onclick = () => { form.hidden = true }
}
