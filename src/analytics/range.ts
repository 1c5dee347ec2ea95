// The date range of an analytics query: ?from=&to= as YYYY-MM-DD (UTC days, both inclusive),
// by default the last 7 days up to today, at most 366 days.
import { badRequest } from '../core/errors.ts'

export const DEFAULT_DAYS = 7
export const MAX_DAYS = 366
const DAY_MS = 86_400_000

export interface DayRange {
  from: string
  to: string
}

/** The range asked for, or a 400 naming the field that is wrong. `today` is YYYY-MM-DD. */
export function parseRange(query: { from?: string; to?: string }, today: string): DayRange {
  const to = query.to === undefined ? today : checkedDay('to', query.to)
  const from = query.from === undefined ? addDays(to, -(DEFAULT_DAYS - 1)) : checkedDay('from', query.from)
  if (from > to) throw badRequest(`querystring.from (${from}) must not be after to (${to})`)
  if (daysBetween(from, to) + 1 > MAX_DAYS) throw badRequest(`querystring.to: a range may span at most ${MAX_DAYS} days (from ${from} to ${to} is ${daysBetween(from, to) + 1})`)
  return { from, to }
}

/** Every day of the range, oldest first. */
export function daysOf(range: DayRange): string[] {
  const days: string[] = []
  for (let day = range.from; day <= range.to; day = addDays(day, 1)) days.push(day)
  return days
}

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10)
}

function checkedDay(field: string, value: string): string {
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined
  // new Date('2025-02-30') rolls over to March: a real date reads back the same.
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw badRequest(`querystring.${field} must be a calendar date as YYYY-MM-DD (got '${value}')`)
  }
  return value
}

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)
}
