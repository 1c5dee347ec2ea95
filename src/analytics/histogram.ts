// Fixed-bucket histograms for latency and time to first token. Fixed bounds make counts from
// different turns, days and instances add up with a plain ADD, and percentiles are read back
// from the counts the way Prometheus' histogram_quantile does it.

/** Upper bounds (inclusive, ms) of the buckets; one more bucket holds everything slower. */
export const BUCKET_BOUNDS_MS = [50, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 20_000, 30_000] as const
export const BUCKET_COUNT = BUCKET_BOUNDS_MS.length + 1

/** The index of the bucket a duration falls in (0 .. BUCKET_COUNT - 1). */
export function bucketOf(ms: number): number {
  const index = BUCKET_BOUNDS_MS.findIndex((bound) => ms <= bound)
  return index === -1 ? BUCKET_BOUNDS_MS.length : index
}

/**
 * The q-quantile (0..1) of the durations counted in `counts` (one count per bucket), in whole
 * ms, interpolated linearly inside its bucket; null when nothing was counted. A quantile in the
 * open last bucket is reported as the last bound (the histogram knows no more than "slower").
 */
export function percentile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0)
  if (total === 0) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!
    if (count > 0 && below + count >= rank) {
      if (i >= BUCKET_BOUNDS_MS.length) return BUCKET_BOUNDS_MS.at(-1)!
      const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!
      const upper = BUCKET_BOUNDS_MS[i]!
      return Math.round(lower + (upper - lower) * ((rank - below) / count))
    }
    below += count
  }
  return BUCKET_BOUNDS_MS.at(-1)!
}
