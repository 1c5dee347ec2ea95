// A session's transcript as JSON, CSV or Markdown, produced piece by piece from an async
// iterable of turns, so a long session is streamed and never held in memory whole.
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
  return jsonExport(about, turns)
}

/** The fields of a turn that an export carries (no storage bookkeeping). */
function exportedTurn(turn: Turn) {
  const { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage } = turn
  return { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage }
}

/** `{ sessionId, animalId, animalName, userId, createdAt, updatedAt, messageCount, turns: [...] }`, oldest turn first. */
async function* jsonExport({ session, animalName }: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  const { sessionId, animalId, userId, createdAt, updatedAt, messageCount } = session
  const head = JSON.stringify({ sessionId, animalId, animalName, userId, createdAt, updatedAt, messageCount })
  yield `${head.slice(0, -1)},"turns":[`
  let separator = '\n'
  for await (const turn of turns) {
    yield separator + JSON.stringify(exportedTurn(turn))
    separator = ',\n'
  }
  yield '\n]}\n'
}

export const CSV_COLUMNS = ['turnId', 'createdAt', 'status', 'userMessage', 'reply', 'model', 'latencyMs', 'promptTokens', 'completionTokens', 'totalTokens'] as const

/** RFC 4180 (CRLF rows, quoted where needed), one row per turn after a header row. */
async function* csvExport(turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  yield csvRow(CSV_COLUMNS)
  for await (const turn of turns) {
    const { turnId, createdAt, status, userMessage, reply, model, latencyMs, usage } = turn
    yield csvRow([turnId, createdAt, status, userMessage, reply, model, latencyMs, usage.promptTokens, usage.completionTokens, usage.totalTokens])
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
 * and no text can start a heading, a list, a link, HTML or a line of its own.
 */
async function* markdownExport({ session, animalName }: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  const name = markdownText(animalName)
  yield `# Conversation with ${name}\n\n` +
    `- Session: ${markdownText(session.sessionId)}\n- Visitor: ${markdownText(session.userId)}\n` +
    `- Animal: ${name} (${markdownText(session.animalId)})\n- Started: ${markdownText(session.createdAt)}\n`
  for await (const turn of turns) {
    const ending = turn.status === 'complete' ? '' : `\n_(reply ${turn.status})_\n`
    yield `\n---\n\n**Visitor** (${markdownText(turn.createdAt)}):\n\n${quote(turn.userMessage)}\n\n**${name}**:\n\n${quote(turn.reply)}\n${ending}`
  }
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
