// The family page: a parent signs in with their token and sees their linked children's
// conversations and safety flags, reads, exports and deletes them. Public API only:
// GET /families/{parentId}, GET /convo_history?userId= / ?sessionId=, GET /safety/events?userId=,
// GET /convo_history/export, DELETE /convo_history?userId=.
import { notice, problemText, safetyTable, sessionTable, showConversation, signIn } from './console.js'
import { byId, fill, h } from './dom.js'

signIn({ slot: 'family', roles: ['parent', 'admin'], onSignedIn: showFamily })

async function showFamily(session) {
  const { sub, api } = session
  const target = byId('children')
  fill(target, notice('Loading…'))
  let family
  try {
    family = await api(`/families/${encodeURIComponent(sub)}`)
  } catch (error) {
    return fill(target, notice(problemText(error, 'Your family'), 'error'))
  }
  if (family.children.length === 0) return fill(target, notice('No children are linked to your account yet. The zoo can link them for you.'))
  fill(target, family.children.map((childId) => childCard(session, childId)))
}

function childCard(session, childId) {
  const { api, download } = session
  const sessions = h('div', {}, notice('Loading conversations…'))
  const flags = h('div', {}, notice('Loading safety flags…'))
  const status = h('div', { role: 'status' })
  const card = h('article', { class: 'card', 'aria-labelledby': `child-${childId}` },
    h('h3', { id: `child-${childId}` }, childId),
    h('h4', {}, 'Conversations'), sessions,
    h('h4', {}, 'Safety flags'), flags,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'button small',
        onClick: () => download(`/convo_history/export?userId=${encodeURIComponent(childId)}&format=json`, `${childId}-conversations.json`)
          .catch((error) => fill(status, notice(problemText(error, 'Exporting everything'), 'error'))),
      }, 'Download all (JSON)'),
      h('button', {
        type: 'button', class: 'button small danger',
        onClick: () => deleteAll(session, childId, status, sessions),
      }, `Delete all of ${childId}'s conversations`)),
    status)

  const open = (s) => showConversation(byId('reader'), session, { ...s, userId: s.userId ?? childId })
  api(`/convo_history?userId=${encodeURIComponent(childId)}&limit=50`)
    .then((page) => fill(sessions, sessionTable(page.sessions, { open })))
    .catch((error) => fill(sessions, notice(problemText(error, 'The conversations'), 'error')))
  api(`/safety/events?userId=${encodeURIComponent(childId)}`)
    .then((page) => fill(flags, safetyTable(page.events, { showUser: false, open })))
    .catch((error) => fill(flags, notice(problemText(error, 'The list of safety flags'), error.unavailable ? 'info' : 'error')))
  return card
}

async function deleteAll({ api }, childId, status, sessions) {
  if (!confirm(`Delete every conversation ${childId} has had with the animals? This cannot be undone.`)) return
  try {
    await api(`/convo_history?userId=${encodeURIComponent(childId)}`, { method: 'DELETE' })
    fill(status, notice(`All of ${childId}'s conversations were deleted.`))
    fill(sessions, notice('No conversations yet.'))
    byId('reader').hidden = true
  } catch (error) {
    fill(status, notice(problemText(error, 'Deleting everything').replace('could not be loaded', 'did not work'), error.unavailable ? 'info' : 'error'))
  }
}
