/** percentile returns the nearest-rank `p`th percentile (0–100) of ascending `sorted` samples, in their unit; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** medianBy returns the item whose `key` is the median (the upper one of an even count); undefined for no items. */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  const sorted = [...items].sort((a, b) => key(a) - key(b))
  return sorted[Math.floor(sorted.length / 2)]
}

/** median returns the median of `values` (the upper one of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  return medianBy(values, (n) => n) ?? Number.NaN
}

/** ratio formats `value / base` as `1.23×`, or `–` when there is no positive base. */
export function ratio(value: number, base: number | undefined): string {
  return base === undefined || !(base > 0) ? '–' : `${(value / base).toFixed(2)}×`
}

/** overhead is how much slower `value` is than `base`, in percent (negative: faster). */
export function overhead(value: number, base: number): number {
  return (1 - value / base) * 100
}

/** spread is half the range of `values` as a percentage of `center`: how far the rounds strayed from the reported one. */
export function spread(values: readonly number[], center: number): number {
  if (values.length === 0 || !(center > 0)) return Number.NaN
  return ((Math.max(...values) - Math.min(...values)) / 2 / center) * 100
}

/** Paired is the median, lowest and highest of per-round ratios. */
export interface Paired {
  median: number
  min: number
  max: number
}

/**
 * paired divides each round of `values` by the same round of `bases` (both
 * clients ran in that round, one after the other, so a slow moment of the
 * machine weighs on both) and returns the median, lowest and highest of
 * those ratios; undefined when no round pairs up with a positive base.
 */
export function paired(values: readonly number[], bases: readonly number[]): Paired | undefined {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(values.length, bases.length); i++) if (bases[i]! > 0) ratios.push(values[i]! / bases[i]!)
  if (ratios.length === 0) return undefined
  ratios.sort((a, b) => a - b)
  return { median: ratios[Math.floor(ratios.length / 2)]!, min: ratios[0]!, max: ratios[ratios.length - 1]! }
}
