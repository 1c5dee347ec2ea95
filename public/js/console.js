// What the family and keeper pages share: signing in with a token, calling the public API, and
// showing a conversation with its safety flags. Endpoints a server does not have yet (404 for the
// route, or a query field it does not know) are shown as "not available yet", not as errors.
import { decodeToken } from '/client/index.js'
import { Credentials } from './credentials.js'
import { byId, fill, h, when } from './dom.js'

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.error ?? 'internal'
  }

  /** The route, or the query field, does not exist on this server (yet). */
  get unavailable() {
    return (this.status === 404 && /^Route /.test(this.message)) || (this.status === 400 && /is not allowed/.test(this.message))
  }
}

/**
 * Signs the page in (fragment, stored token or the sign-in form) and calls `onSignedIn(session)`
 * with { sub, role, api, download, signOut }.
 */
export function signIn({ slot, roles, onSignedIn }) {
  const credentials = new Credentials(slot)
  const form = byId('sign-in')
  const problem = byId('sign-in-problem')
  const signedIn = byId('signed-in')

  const api = async (path, { method = 'GET', body } = {}) => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${credentials.token ?? ''}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
    if (response.status === 401) {
      credentials.clear()
      show('Your sign-in has run out. Please sign in again.')
    }
    if (response.status === 204) return undefined
    const parsed = await response.json().catch(() => undefined)
    if (!response.ok) throw new ApiError(response.status, parsed)
    return parsed
  }

  /** Downloads an authenticated file (an <a download> cannot send the token). */
  const download = async (path, fallbackName) => {
    const response = await fetch(path, { headers: { authorization: `Bearer ${credentials.token ?? ''}` } })
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => undefined))
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName
    const url = URL.createObjectURL(await response.blob())
    const link = h('a', { href: url, download: name, hidden: true })
    document.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }

  const show = (why) => {
    form.hidden = false
    signedIn.hidden = true
    byId('content').hidden = true
    problem.textContent = why ?? ''
    problem.hidden = !why
  }

  const begin = () => {
    const claims = credentials.token && decodeToken(credentials.token)
    if (!claims) return show()
    if (!roles.includes(claims.role)) return show(`This page is for ${roles.join(' and ')} accounts; this token is for a ${claims.role}.`)
    form.hidden = true
    signedIn.hidden = false
    byId('content').hidden = false
    byId('who').textContent = `${claims.sub} (${claims.role})`
    onSignedIn({ sub: claims.sub, role: claims.role, api, download })
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const field = byId('token')
    credentials.save(field.value)
    field.value = ''
    begin()
  })
  byId('sign-out').addEventListener('click', () => {
    credentials.clear()
    show('You are signed out.')
  })
  begin()
}

/** A line of text for a failed request; "not available yet" for a missing endpoint. */
export function problemText(error, what) {
  if (error instanceof ApiError && error.unavailable) return `Not available on this server yet: ${what.toLowerCase()}.`
  if (error instanceof ApiError) return `${what} could not be loaded: ${error.message}`
  return `${what} could not be loaded: the server cannot be reached.`
}

export const notice = (text, kind = 'info') => h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : undefined }, text)

/** Badges for a safety result ({ action, flags }) or a list of flags. */
export function safetyBadges(safety) {
  const flags = Array.isArray(safety) ? safety : safety?.flags ?? []
  return flags.map((flag) => h('span', { class: `badge ${flag.severity ?? 'low'}` }, `${label(flag.category)} (${flag.severity ?? '?'})`))
}

export const label = (category) => String(category ?? '').replaceAll('_', ' ')

/** A table of sessions; each row opens the conversation with `open(session)`. */
export function sessionTable(sessions, { open, showUser = false }) {
  if (sessions.length === 0) return notice('No conversations yet.')
  return h('div', { class: 'table-wrap' }, h('table', { class: 'sessions' },
    h('thead', {}, h('tr', {},
      showUser && h('th', { scope: 'col' }, 'Visitor'),
      h('th', { scope: 'col' }, 'Animal'),
      h('th', { scope: 'col' }, 'Last active'),
      h('th', { scope: 'col' }, 'Messages'),
      h('th', { scope: 'col' }, 'Safety'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Open')))),
    h('tbody', {}, sessions.map((session) => h('tr', { class: session.flagged || session.safetyFlags > 0 ? 'flagged' : undefined },
      showUser && h('td', {}, session.userId),
      h('td', {}, session.animalId),
      h('td', {}, when(session.updatedAt)),
      h('td', {}, String(session.messageCount ?? '')),
      h('td', {}, session.safetyFlags > 0 || session.flagged ? h('span', { class: 'badge medium' }, `${session.safetyFlags ?? ''} flagged`.trim()) : 'none'),
      h('td', {}, h('button', { type: 'button', class: 'button small', onClick: () => open(session) }, 'Read')))))))
}

/**
 * Shows one session's turns in `target` (a region), oldest first, every page of them, each with
 * its safety flags; plus export buttons.
 */
export async function showConversation(target, { api, download }, session) {
  fill(target, h('h2', { tabindex: '-1' }, `Conversation with ${session.animalId}`), notice('Loading…'))
  target.hidden = false
  target.querySelector('h2').focus()
  const turns = []
  try {
    let cursor
    do {
      const page = await api(`/convo_history?sessionId=${encodeURIComponent(session.sessionId)}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      turns.push(...page.turns)
      cursor = page.nextCursor
    } while (cursor)
  } catch (error) {
    return fill(target, h('h2', {}, 'Conversation'), notice(problemText(error, 'This conversation'), 'error'))
  }
  const exportButton = (format, text) => h('button', {
    type: 'button', class: 'button small',
    onClick: () => download(`/convo_history/export?sessionId=${encodeURIComponent(session.sessionId)}&format=${format}`, `session-${session.sessionId}.${format}`)
      .catch((error) => target.append(notice(problemText(error, 'The export'), 'error'))),
  }, text)
  fill(target,
    h('h2', { tabindex: '-1' }, `Conversation with ${session.animalId}`),
    h('p', { class: 'meta' }, `${session.userId ? `Visitor ${session.userId}, ` : ''}started ${when(session.createdAt ?? turns[0]?.createdAt)}`),
    h('div', { class: 'actions' }, 'Download: ', exportButton('md', 'Text'), exportButton('csv', 'Spreadsheet (CSV)'), exportButton('json', 'JSON')),
    h('ol', { class: 'transcript', role: 'log', 'aria-label': 'Conversation' }, turns.map((turn) => h('li', { class: turn.safety?.flags?.length ? 'turn flagged' : 'turn' },
      h('p', { class: 'said visitor' }, h('strong', {}, 'Visitor: '), turn.userMessage),
      h('p', { class: 'said animal' }, h('strong', {}, `${session.animalId}: `), turn.reply || '(no reply)'),
      h('p', { class: 'meta' }, when(turn.createdAt), turn.status !== 'complete' ? ` · ${turn.status}` : '', ' ', ...safetyBadges(turn.safety)),
    ))))
  target.querySelector('h2').focus()
}

/** A table of safety events ({ events }) for the keeper and family pages. */
export function safetyTable(events, { showUser = true, open } = {}) {
  if (events.length === 0) return notice('No safety flags. Good news!')
  return h('div', { class: 'table-wrap' }, h('table', { class: 'sessions' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'When'),
      showUser && h('th', { scope: 'col' }, 'Visitor'),
      h('th', { scope: 'col' }, 'Animal'),
      h('th', { scope: 'col' }, 'What'),
      h('th', { scope: 'col' }, 'Action'),
      open && h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Open')))),
    h('tbody', {}, events.map((event) => h('tr', {},
      h('td', {}, when(event.createdAt)),
      showUser && h('td', {}, event.userId),
      h('td', {}, event.animalId),
      h('td', {}, ...safetyBadges([event])),
      h('td', {}, event.action ?? ''),
      open && h('td', {}, h('button', { type: 'button', class: 'button small', onClick: () => open(event) }, 'Read')))))))
}
