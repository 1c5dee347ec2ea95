// The transcript formatters on their own: JSON, CSV (quoting, formula injection) and Markdown.
import t from 'tap'
import { CSV_COLUMNS, csvCell, exportSession, exportUser, markdownText, USER_CSV_COLUMNS, type ExportFormat, type ExportedUserSession } from '../src/core/export-format.ts'
import type { Session, Turn } from '../src/core/types.ts'

const session: Session = {
  sessionId: 's-1', userId: 'alice', animalId: 'lion', createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:01:00.000Z', messageCount: 4, totalTokens: 30, totalLatencyMs: 20,
}

function turn(n: number, userMessage: string, reply: string, status: Turn['status'] = 'complete'): Turn {
  return {
    turnId: `t-${n}`, sessionId: 's-1', userId: 'alice', animalId: 'lion', userMessage, reply, status,
    createdAt: `2030-01-01T00:0${n}:00.000Z`, usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
    latencyMs: 10, model: 'offline', endSeq: 7,
  }
}

async function* iterate(turns: Turn[]): AsyncIterable<Turn> {
  yield* turns
}

async function render(format: ExportFormat, turns: Turn[]): Promise<{ text: string; pieces: number }> {
  let text = ''
  let pieces = 0
  for await (const piece of exportSession(format, { session, animalName: 'Leo' }, iterate(turns))) {
    text += piece
    pieces++
  }
  return { text, pieces }
}

const turns = [
  turn(1, 'What do you eat?', 'Meat, mostly.'),
  turn(2, '=HYPERLINK("http://evil", "click"), really?\nsecond line', 'I say "ROAR", then, well'),
  turn(3, 'Bye', '', 'cancelled'),
]

t.test('JSON: the session and every turn in order, written a turn at a time', async (t) => {
  const { text, pieces } = await render('json', turns)
  t.ok(pieces >= turns.length + 2, 'one piece per turn plus head and tail')
  const body = JSON.parse(text)
  t.match(body, { sessionId: 's-1', animalId: 'lion', animalName: 'Leo', userId: 'alice', messageCount: 4 })
  t.same(body.turns.map((x: Turn) => x.turnId), ['t-1', 't-2', 't-3'])
  t.same(Object.keys(body.turns[0]).sort(), ['createdAt', 'latencyMs', 'model', 'reply', 'status', 'turnId', 'usage', 'userMessage'])
  t.equal(body.turns[1].userMessage, turns[1]!.userMessage)
  t.same(JSON.parse((await render('json', [])).text).turns, [], 'an empty session is an empty list')
})

t.test('CSV: header row, CRLF rows, quoting, and no formulas', async (t) => {
  const { text } = await render('csv', turns)
  const rows = text.split('\r\n')
  t.equal(rows[0], CSV_COLUMNS.join(','))
  t.equal(rows[1], 't-1,2030-01-01T00:01:00.000Z,complete,What do you eat?,"Meat, mostly.",offline,10,10,5,15,', 'an unflagged turn has an empty safety cell')
  t.ok(text.includes('"\'=HYPERLINK(""http://evil"", ""click""), really?\nsecond line"'), 'formula defused, quotes doubled, newline kept inside quotes')
  t.ok(text.includes('"I say ""ROAR"", then, well"'))
  t.ok(text.endsWith('\r\n'))
})

t.test('csvCell', async (t) => {
  t.equal(csvCell('plain'), 'plain')
  t.equal(csvCell(42), '42')
  t.equal(csvCell(''), '')
  for (const risky of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) t.equal(csvCell(risky).replace(/^"/, '')[0], '\'', `${JSON.stringify(risky)} gets a leading apostrophe`)
  t.equal(csvCell('a,b'), '"a,b"')
  t.equal(csvCell('say "hi"'), '"say ""hi"""')
  t.equal(csvCell('two\nlines'), '"two\nlines"')
})

t.test('Markdown: a transcript with the animal\'s name, messages quoted', async (t) => {
  const { text } = await render('md', turns)
  t.match(text, /^# Conversation with Leo\n/)
  t.match(text, /- Visitor: alice/)
  t.match(text, /\*\*Visitor\*\* \(2030-01-01T00:01:00.000Z\):\n\n> What do you eat\?\n\n\*\*Leo\*\*:\n\n> Meat, mostly\./)
  t.ok(text.includes('> \\=HYPERLINK\\("http://evil", "click"\\), really?\n> second line'), 'every line of a message stays inside its quote, markup escaped')
  t.match(text, /_\(reply cancelled\)_/)
  t.equal(text.indexOf('What do you eat') < text.indexOf('Bye'), true, 'oldest first')
})

t.test('Markdown: nothing a person wrote can add a heading, a line or markup', async (t) => {
  const evilSession = { ...session, userId: 'mallory\n# Visitor: admin\n- Session: forged' }
  const evilTurn = turn(1, 'hi\r\n\r\n---\n# I am the zookeeper\u2028**Leo**: trust me\r<img src=x onerror=alert(1)>', '[click](javascript:alert(1))\n1. step')
  let text = ''
  for await (const piece of exportSession('md', { session: evilSession, animalName: 'Leo\n\n# Fake heading' }, iterate([evilTurn]))) text += piece
  const lines = text.split('\n')
  t.same(lines.filter((line) => line.startsWith('#')), ['# Conversation with Leo  \\# Fake heading'], 'one heading, the real one')
  t.same(lines.filter((line) => line.startsWith('- ')), [
    '- Session: s-1',
    '- Visitor: mallory \\# Visitor: admin - Session: forged',
    '- Animal: Leo  \\# Fake heading (lion)',
    '- Started: 2030-01-01T00:00:00.000Z',
  ], 'the header lines are the four real ones')
  t.equal(lines.filter((line) => line === '---').length, 1, 'one separator per turn, none from the message')
  t.equal(lines.filter((line) => /^\*\*/.test(line)).length, 2, 'only the real speaker lines')
  const quoted = lines.slice(lines.indexOf('**Visitor** (2030-01-01T00:01:00.000Z):') + 2)
  t.ok(quoted.slice(0, quoted.indexOf('')).every((line) => line.startsWith('>')), 'every line of the message is in its quote')
  t.notOk(/(^|[^\\])<img/.test(text), 'no raw HTML')
  t.ok(text.includes('\\<img src=x onerror=alert\\(1\\)\\>'), 'the tag is shown as text')
  t.ok(text.includes('\\[click\\]\\(javascript:alert\\(1\\)\\)'), 'no link')
  t.ok(text.includes('> 1\\. step'), 'no list')
})

t.test('markdownText', async (t) => {
  t.equal(markdownText('# Heading'), '\\# Heading')
  t.equal(markdownText('two\nlines\u2029three'), 'two lines three')
  t.equal(markdownText('- list'), '\\- list')
  t.equal(markdownText('Meat, mostly.'), 'Meat, mostly.', 'plain text stays readable')
  t.equal(markdownText('bell\u0007'), 'bell', 'control characters dropped')
})

t.test('CSV: formulas hidden behind spaces or full-width signs are defused too', async (t) => {
  for (const risky of [' =1+1', '\u3000+1', '\uFF1D1+1', '\uFF20SUM(A1)']) t.equal(csvCell(risky).replace(/^"/, '')[0], '\'', JSON.stringify(risky))
  const { text } = await render('csv', [turn(1, '=cmd|\'/C calc\'!A0', '@SUM(1)')])
  t.ok(text.includes(",'=cmd|'/C calc'!A0,'@SUM(1),"), 'message and reply both defused')
})

const lost = { ...turn(4, 'i cant find my mum', 'Stay where you are and ask a zoo keeper in uniform.'), safety: { action: 'support' as const, flags: [{ category: 'lost_child' as const, severity: 'high' as const, source: 'input' as const }] } }

t.test('a flagged turn carries its safety in every format', async (t) => {
  const json = JSON.parse((await render('json', [turns[0]!, lost])).text)
  t.notOk('safety' in json.turns[0], 'nothing for an unflagged turn')
  t.same(json.turns[1].safety, lost.safety)
  const csv = (await render('csv', [lost])).text.split('\r\n')[1]
  t.ok(csv?.endsWith(',support: lost_child/high/input'), 'action, then category/severity/source per flag')
  t.match((await render('md', [lost])).text, /> i cant find my mum\n\n_\(flagged: lost child\)_\n/)
})

async function renderUser(format: ExportFormat, sessions: Array<{ session: Session; turns: Turn[] }>): Promise<string> {
  async function* all(): AsyncIterable<ExportedUserSession> {
    for (const { session, turns } of sessions) yield { session, animalName: session.animalId === 'lion' ? 'Leo' : 'Pip', turns: iterate(turns) }
  }
  let text = ''
  for await (const piece of exportUser(format, 'alice', all())) text += piece
  return text
}

const penguinSession: Session = { ...session, sessionId: 's-2', animalId: 'penguin', messageCount: 2 }
const penguinTurn: Turn = { ...turn(5, 'Can you fly?', 'No, I swim!'), sessionId: 's-2', animalId: 'penguin' }

t.test('a user-wide export: every session with its turns, in every format', async (t) => {
  const sessions = [{ session: penguinSession, turns: [penguinTurn] }, { session: { ...session, safetyFlags: 1 }, turns: [turns[0]!, lost] }]
  const json = JSON.parse(await renderUser('json', sessions))
  t.equal(json.userId, 'alice')
  t.same(json.sessions.map((s: Session) => s.sessionId), ['s-2', 's-1'])
  t.match(json.sessions[1], { animalName: 'Leo', safetyFlags: 1, turns: [{ turnId: 't-1' }, { turnId: 't-4', safety: lost.safety }] })
  t.same(JSON.parse(await renderUser('json', [])), { userId: 'alice', sessions: [] }, 'a user with nothing stored')

  const rows = (await renderUser('csv', sessions)).split('\r\n').filter(Boolean)
  t.equal(rows[0], USER_CSV_COLUMNS.join(','))
  t.same(rows.slice(1).map((row) => row.split(',').slice(0, 3).join(',')), ['s-2,penguin,t-5', 's-1,lion,t-1', 's-1,lion,t-4'], 'one row per turn, naming its session and animal')

  const md = await renderUser('md', sessions)
  t.match(md, /^# Conversations of alice\n/)
  t.ok(md.indexOf('## Conversation with Pip') < md.indexOf('## Conversation with Leo'), 'each session under its own heading, in order')
  t.match(md, /_\(flagged: lost child\)_/)
  t.match(await renderUser('md', []), /No conversations are stored\./)
})
