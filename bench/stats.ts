/** Small statistics helpers (nearest-rank percentiles, medians over repetitions). */

export const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)

/** Nearest-rank percentile of an ascending array; undefined when empty. */
export const percentile = (asc: ReadonlyArray<number>, p: number): number | undefined => {
  if (asc.length === 0) return undefined
  const rank = Math.min(asc.length, Math.max(1, Math.ceil((p / 100) * asc.length)))
  return asc[rank - 1]
}

export const median = (xs: ReadonlyArray<number | undefined>): number | undefined => {
  const v = sorted(xs.filter((x): x is number => x !== undefined && Number.isFinite(x)))
  if (v.length === 0) return undefined
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

export const countBy = <A>(xs: ReadonlyArray<A>, key: (a: A) => string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const x of xs) {
    const k = key(x)
    out[k] = (out[k] ?? 0) + 1
  }
  return out
}

/** At most `n` points of an ascending array, evenly by rank (keeps the CDF's shape, bounds the JSON). */
export const downsample = (asc: ReadonlyArray<number>, n = 200): Array<number> => {
  if (asc.length <= n) return [...asc]
  return Array.from({ length: n }, (_, i) => asc[Math.round((i * (asc.length - 1)) / (n - 1))] as number)
}
