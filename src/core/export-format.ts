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
 * A spreadsheet would run a text cell starting with = + - @ (or tab/CR) as a formula, and
 * visitors' messages are untrusted: such cells get a leading apostrophe (OWASP CSV injection).
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value)
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A readable transcript: who said what, each message as a block quote so its text cannot restyle the page. */
async function* markdownExport({ session, animalName }: ExportedSession, turns: AsyncIterable<Turn>): AsyncGenerator<string> {
  yield `# Conversation with ${animalName}\n\n` +
    `- Session: ${session.sessionId}\n- Visitor: ${session.userId}\n- Animal: ${animalName} (${session.animalId})\n- Started: ${session.createdAt}\n`
  for await (const turn of turns) {
    const ending = turn.status === 'complete' ? '' : `\n_(reply ${turn.status})_\n`
    yield `\n---\n\n**Visitor** (${turn.createdAt}):\n\n${quote(turn.userMessage)}\n\n**${animalName}**:\n\n${quote(turn.reply)}\n${ending}`
  }
}

function quote(text: string): string {
  return text === '' ? '> …' : text.split(/\r?\n/).map((line) => `> ${line}`.trimEnd()).join('\n')
}
