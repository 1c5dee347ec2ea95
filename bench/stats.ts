// Percentiles and formatting for the report.

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** The middle value (the upper of the two middle ones for an even count). */
export function median(values: number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]
}

export interface Summary {
  count: number
  p50: number
  p99: number
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

export const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a')
export const int = (value: number) => Math.round(value).toLocaleString('en-US')
export const kib = (bytes: number) => (bytes / 1024).toFixed(1)
export const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`

/** A markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}
