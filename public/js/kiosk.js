// The kiosk: a child chats with one animal on a tablet at its enclosure (`/?animal=lion`), or
// picks one (`/`). Replies stream in over one WebSocket (client/), which reconnects, resumes and
// queues by itself; this file only draws. "New visitor" and the idle timeout wipe the screen and
// start a fresh session, so the next child never sees the last one's chat.
import { Conversation, GatewayClient } from '/client/index.js'
import { Credentials } from './credentials.js'
import { byId, fill, h } from './dom.js'

const params = new URLSearchParams(location.search)
const fixedAnimal = params.get('animal') ?? undefined
/** Seconds without a touch or a key before the screen is wiped (?idle=, default 2 minutes). */
const idleSeconds = clamp(Number(params.get('idle')) || 120, 3, 3600)
/** The "Are you still there?" card shows this long before the wipe. */
const warningSeconds = Math.min(20, Math.max(1, Math.floor(idleSeconds / 4)))

const credentials = new Credentials('kiosk')
const view = {
  loading: byId('loading'), setup: byId('setup'), picker: byId('picker'), chat: byId('chat'),
  status: byId('status'), log: byId('conversation'), suggestions: byId('suggestions'),
  form: byId('composer'), input: byId('message'), face: byId('animal-face'), name: byId('animal-name'),
  species: byId('animal-species'), idle: byId('idle-warning'),
}

let client
let animals = []
let animal
let conversation

// ---- start-up and sign-in ----

byId('setup-form').addEventListener('submit', (event) => {
  event.preventDefault()
  credentials.save(byId('device-token').value)
  byId('device-token').value = ''
  start()
})

function showOnly(section) {
  for (const el of [view.loading, view.setup, view.picker, view.chat]) el.hidden = el !== section
}

function needsSetup(reason) {
  client?.close()
  client = undefined
  byId('setup-reason').textContent = reason === 'expired'
    ? 'This tablet\'s pass has run out. Please ask a grown-up from the zoo to set it up again.'
    : 'Please ask a grown-up from the zoo to set it up.'
  showOnly(view.setup)
}

async function start() {
  if (!credentials.token) return needsSetup(localStorageHadToken() ? 'expired' : 'missing')
  const response = await fetch('/animals', { headers: { authorization: `Bearer ${credentials.token}` } }).catch(() => undefined)
  if (!response) {
    view.loading.textContent = 'The zoo Wi-Fi is taking a nap. Trying again…'
    return setTimeout(start, 3000)
  }
  if (response.status === 401) return needsSetup('expired')
  if (!response.ok) {
    view.loading.textContent = 'The animals are having a snack. Trying again…'
    return setTimeout(start, 3000)
  }
  animals = (await response.json()).animals
  client = new GatewayClient({ getToken: (request) => credentials.fresh(request) })
  client.on('state', showConnection)
  client.on('signed-out', ({ reason }) => needsSetup(reason === 'missing' ? 'missing' : 'expired'))
  client.connect()
  const fixed = fixedAnimal && animals.find((a) => a.animalId === fixedAnimal)
  if (fixed) return openChat(fixed)
  showPicker()
}

function localStorageHadToken() {
  try { return localStorage.getItem(credentials.key) !== null } catch { return false }
}

// ---- the animal picker ----

function showPicker() {
  conversation?.reset()
  fill(byId('animal-list'), animals.map((a) => h('li', {},
    h('button', { type: 'button', class: 'animal-card', onClick: () => openChat(a) },
      face(a.animalId, 'card-face'),
      h('span', { class: 'card-name' }, a.name),
      h('span', { class: 'card-species' }, `the ${a.species}`)))))
  showOnly(view.picker)
}

byId('change-animal').addEventListener('click', () => showPicker())

function face(animalId, className) {
  const img = h('img', { class: className, src: `/img/${encodeURIComponent(animalId)}.svg`, alt: '' })
  img.addEventListener('error', () => { img.src = '/img/paw.svg' }, { once: true })
  return img
}

// ---- the chat ----

function openChat(chosen) {
  animal = chosen
  document.title = `Talk with ${animal.name} the ${animal.species}`
  view.face.replaceWith(view.face = face(animal.animalId, 'face'))
  view.face.id = 'animal-face'
  view.name.textContent = `${animal.name} the ${animal.species}`
  view.species.textContent = animal.habitat ? `From ${animal.habitat}` : ''
  view.log.setAttribute('aria-label', `Your chat with ${animal.name}`)
  byId('change-animal').hidden = Boolean(fixedAnimal)
  showOnly(view.chat)
  newVisitor()
}

/** Wipes the screen and starts a fresh session: nothing of the last visitor stays. */
function newVisitor() {
  conversation?.reset()
  globalThis.speechSynthesis?.cancel()
  conversation = new Conversation(client, { animalId: animal.animalId })
  view.input.value = ''
  fill(view.log, animalBubble(animal.greeting ?? `Hello! I'm ${animal.name}. What would you like to know?`, { done: true }))
  fill(view.suggestions, suggestionsFor(animal).map((question) =>
    h('button', { type: 'button', class: 'suggestion', onClick: () => ask(question) }, question)))
  view.idle.hidden = true
  armIdle()
}

byId('new-visitor').addEventListener('click', () => newVisitor())

view.form.addEventListener('submit', (event) => {
  event.preventDefault()
  ask(view.input.value)
})

function ask(question) {
  const message = question.trim()
  if (!message || !conversation) return
  view.input.value = ''
  view.log.append(h('div', { class: 'bubble visitor' }, h('p', { class: 'text' }, message)))
  const turn = conversation.send(message)
  const bubble = animalBubble('', { done: false })
  const text = bubble.querySelector('.text')
  const note = bubble.querySelector('.note')
  view.log.append(bubble)
  scrollDown()

  const setNote = (value) => { note.textContent = value; note.hidden = !value }
  // Not sent yet while the connection is down: say so, and that it will go by itself.
  const waiting = () => {
    const unsent = turn.state === 'queued' || turn.state === 'sending'
    if (unsent && client.state !== 'online') setNote('Waiting for the Wi-Fi, then I\'ll send it…')
    else if (!unsent || client.state === 'online') setNote('')
  }
  waiting()
  const offState = client.on('state', waiting)
  turn.on('end', offState)
  turn.on('text', (value) => {
    text.textContent = value
    bubble.classList.toggle('thinking', value === '')
    armIdle()
    scrollDown()
  })
  turn.on('state', waiting)
  turn.on('retry', () => setNote(`${animal.name} is thinking extra hard…`))
  turn.on('end', () => {
    bubble.classList.remove('thinking')
    bubble.removeAttribute('aria-busy') // screen readers read the finished reply once, not each word
    if (turn.state === 'failed') {
      text.textContent = sorry(turn.error?.code)
      bubble.classList.add('sorry')
      bubble.append(h('button', { type: 'button', class: 'button quiet', onClick: () => ask(message) }, 'Ask again'))
    } else if (turn.text) {
      const listen = listenButton(() => turn.text)
      if (listen) bubble.append(listen)
    }
    armIdle()
    scrollDown()
  })
}

function animalBubble(message, { done }) {
  const bubble = h('div', { class: `bubble animal${done ? '' : ' thinking'}`, 'aria-busy': done ? undefined : 'true' },
    h('span', { class: 'visually-hidden' }, `${animal.name} says:`),
    h('p', { class: 'text' }, message),
    h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    h('p', { class: 'note', hidden: true }))
  const listen = done && listenButton(() => message)
  if (listen) bubble.append(listen)
  return bubble
}

function sorry(code) {
  const name = animal.name
  switch (code) {
    case 'rate_limited':
    case 'too_many_turns':
      return `${name} needs a little rest. Try again in a minute!`
    case 'bad_request':
      return `${name} didn't quite understand. Can you ask it a shorter way?`
    default:
      return `Oh no, ${name} couldn't answer just now. Please try again!`
  }
}

/** Questions a six-year-old might ask, picked from what the animal's card knows. */
function suggestionsFor(a) {
  return [
    a.diet && 'What do you eat?',
    a.habitat && 'Where do you live?',
    'Tell me a fun fact!',
    'What do you do all day?',
  ].filter(Boolean).slice(0, 4)
}

function scrollDown() {
  view.log.scrollTop = view.log.scrollHeight
}

// ---- reading aloud ----

function listenButton(textOf) {
  if (!('speechSynthesis' in window)) return undefined
  const button = h('button', { type: 'button', class: 'button listen', 'aria-pressed': 'false' }, h('span', { class: 'speaker', 'aria-hidden': 'true' }), 'Listen')
  button.addEventListener('click', () => {
    const speaking = button.getAttribute('aria-pressed') === 'true'
    speechSynthesis.cancel()
    for (const other of view.log.querySelectorAll('.listen[aria-pressed="true"]')) other.setAttribute('aria-pressed', 'false')
    if (speaking) return
    const utterance = new SpeechSynthesisUtterance(textOf().replace(/\*[^*]+\*/g, ' ')) // *flap flap* is acted, not read
    utterance.lang = document.documentElement.lang
    utterance.rate = 0.9
    utterance.onend = utterance.onerror = () => button.setAttribute('aria-pressed', 'false')
    button.setAttribute('aria-pressed', 'true')
    speechSynthesis.speak(utterance)
  })
  return button
}

// ---- connection state, kindly ----

function showConnection(state) {
  document.body.dataset.connection = state
  const name = animal?.name ?? 'The animals'
  const messages = {
    connecting: `Waking ${name} up…`,
    reconnecting: `Oops, the zoo Wi-Fi wobbled. ${name} will be right back…`,
    offline: 'The zoo Wi-Fi is taking a nap. Your question will be sent when it wakes up.',
  }
  view.status.textContent = messages[state] ?? ''
  view.status.hidden = !messages[state]
}

// ---- the idle wipe ----

let idleTimer
let warningTimer

function armIdle() {
  clearTimeout(idleTimer)
  clearTimeout(warningTimer)
  view.idle.hidden = true
  if (view.chat.hidden) return
  warningTimer = setTimeout(() => {
    if (!conversation || conversation.turns.length === 0) return // nothing to wipe yet
    view.idle.hidden = false
    byId('still-here').focus()
  }, (idleSeconds - warningSeconds) * 1000)
  idleTimer = setTimeout(() => {
    if (conversation && conversation.turns.length > 0) newVisitor()
    else armIdle()
  }, idleSeconds * 1000)
}

byId('still-here').addEventListener('click', () => armIdle())
for (const type of ['pointerdown', 'keydown', 'input']) document.addEventListener(type, () => { if (view.idle.hidden) armIdle() }, { passive: true })

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value))
}

start()
