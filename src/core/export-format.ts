// A session's transcript (or all of a user's sessions) as JSON, CSV or Markdown, produced piece
// by piece from async iterables of turns, so a long export is streamed and never held whole.
import { CATEGORY_LABELS } from './flags.ts'
import type { Session, Turn } from './types.ts'

export const EXPORT_FORMATS = ['json', 'csv', 'md'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
}

export interface ExportedSession {
  session: Session
  /** The animal's own name (e.g. Leo), for the transcript. */
  animalName: string
}

export function exportSession(format: ExportFormat, about: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  if (format === 'csv') return csvExport(turns)
  if (format === 'md') return markdownExport(about, turns)
  return jsonSessionExport(about, turns)
}

/** One session of a user-wide export: the session, its animal's name, its turns (oldest first). */
export interface ExportedUserSession extends ExportedSession {
  turns: AsyncIterable<Turn>
}

/** Everything stored about one user (GET /convo_history/export?userId=), session by session. */
export function exportUser(format: ExportFormat, userId: string, sessions: AsyncIterable<ExportedUserSession>): AsyncGenerator<string> {
  if (format === 'csv') return csvUserExport(sessions)
  if (format === 'md') return markdownUserExport(userId, sessions)
  return jsonUserExport(userId, sessions)
}

/** The fields of a turn that an export carries (no storage bookkeeping); `safety` when flagged. */
function exportedTurn(turn: Turn) {
  const { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage, safety } = turn
  return { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage, ...(safety ? { safety } : {}) }
}

/** `{ sessionId, animalId, animalName, userId, createdAt, updatedAt, messageCount, safetyFlags, turns: [...] }`, oldest turn first. */
async function* jsonExport({ session, animalName }: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  const { sessionId, animalId, userId, createdAt, updatedAt, messageCount, safetyFlags = 0 } = session
  const head = JSON.stringify({ sessionId, animalId, animalName, userId, createdAt, updatedAt, messageCount, safetyFlags })
  yield `${head.slice(0, -1)},"turns":[`
  let separator = '\n'
  for await (const turn of turns) {
    yield separator + JSON.stringify(exportedTurn(turn))
    separator = ',\n'
  }
  yield '\n]}'
}

async function* jsonSessionExport(about: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  yield* jsonExport(about, turns)
  yield '\n'
}

/** `{ userId, sessions: [ <one session as above>, ... ] }`, most recently active session first. */
async function* jsonUserExport(userId: string, sessions: AsyncIterable<ExportedUserSession>): AsyncGenerator<string> {
  yield `{"userId":${JSON.stringify(userId)},"sessions":[`
  let separator = '\n'
  for await (const session of sessions) {
    yield separator
    yield* jsonExport(session, session.turns)
    separator = ',\n'
  }
  yield '\n]}\n'
}

export const CSV_COLUMNS = ['turnId', 'createdAt', 'status', 'userMessage', 'reply', 'model', 'latencyMs', 'promptTokens', 'completionTokens', 'totalTokens', 'safety'] as const
/** A user-wide CSV says which session and animal each turn belongs to. */
export const USER_CSV_COLUMNS = ['sessionId', 'animalId', ...CSV_COLUMNS] as const

function csvCells(turn: Turn): Array<string | number> {
  const { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage } = turn
  return [turnId, createdAt, status, userMessage, reply, model, latencyMs, usage.promptTokens, usage.completionTokens, usage.totalTokens, safetyCell(turn)]
}

/** `support: lost_child/high/input; …`, empty when nothing was flagged. */
function safetyCell({ safety }: Turn): string {
  if (!safety) return ''
  return `${safety.action}: ${safety.flags.map((flag) => `${flag.category}/${flag.severity}/${flag.source}`).join('; ')}`
}

/** RFC 4180 (CRLF rows, quoted where needed), one row per turn after a header row. */
async function* csvExport(turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  yield csvRow(CSV_COLUMNS)
  for await (const turn of turns) yield csvRow(csvCells(turn))
}

async function* csvUserExport(sessions: AsyncIterable<ExportedUserSession>): AsyncGenerator<string> {
  yield csvRow(USER_CSV_COLUMNS)
  for await (const { session, turns } of sessions) {
    for await (const turn of turns) yield csvRow([session.sessionId, session.animalId, ...csvCells(turn)])
  }
}

export function csvRow(cells: ReadonlyArray<string | number>): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}

/**
 * A spreadsheet would run a text cell starting with = + - @ (or tab/CR, or their full-width forms,
 * also after leading spaces) as a formula, and visitors' messages are untrusted: such cells get a
 * leading apostrophe (OWASP CSV injection).
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value)
  const text = /^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * A readable transcript: who said what. Everything that comes from a person (the visitor's id,
 * the animal's name, messages, replies) is made inert: messages are block quotes line by line,
 * and no text can start a heading, a list, a link, HTML or a line of its own. Flagged turns say
 * so under the message, in our own fixed words.
 */
async function* markdownExport({ session, animalName }: ExportedSession, turns: AsyncIterable<Turn>, heading = '#'): AsyncGenerator<string> {
  const name = markdownText(animalName)
  yield `${heading} Conversation with ${name}\n\n` +
    `- Session: ${markdownText(session.sessionId)}\n- Visitor: ${markdownText(session.userId)}\n` +
    `- Animal: ${name} (${markdownText(session.animalId)})\n- Started: ${markdownText(session.createdAt)}\n`
  for await (const turn of turns) {
    const ending = turn.status === 'complete' ? '' : `\n_(reply ${turn.status})_\n`
    const flagged = turn.safety ? `\n_(flagged: ${[...new Set(turn.safety.flags.map((flag) => CATEGORY_LABELS[flag.category]))].join(', ')})_\n` : ''
    yield `\n---\n\n**Visitor** (${markdownText(turn.createdAt)}):\n\n${quote(turn.userMessage)}\n${flagged}\n**${name}**:\n\n${quote(turn.reply)}\n${ending}`
  }
}

async function* markdownUserExport(userId: string, sessions: AsyncIterable<ExportedUserSession>): AsyncGenerator<string> {
  yield `# Conversations of ${markdownText(userId)}\n`
  let count = 0
  for await (const session of sessions) {
    yield '\n'
    yield* markdownExport(session, session.turns, '##')
    count++
  }
  if (count === 0) yield '\nNo conversations are stored.\n'
}

/** Every way a text can break a line (CommonMark's, Unicode's, and the ones editors honour). */
const LINE_BREAKS = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/

/** One line of a person's text, as literal Markdown: control characters dropped, markup backslash-escaped. */
export function markdownText(text: string): string {
  return text
    .split(LINE_BREAKS).join(' ')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[\\`*_[\](){}<>#|~!&]/g, '\\$&')
    // Where a line starts, - + = and "1." or "1)" would begin a list or underline a heading.
    .replace(/^(\s*)([-+=]|\d+(?=[.)]))/, (_all, space: string, mark: string) => /\d/.test(mark) ? `${space}${mark}\\` : `${space}\\${mark}`)
}

function quote(text: string): string {
  return text === '' ? '> …' : text.split(LINE_BREAKS).map((line) => `> ${markdownText(line)}`.trimEnd()).join('\n')
}
