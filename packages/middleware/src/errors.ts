import { RoundTripError } from '@roundtrip/core'

/** Error code: an option passed to one of this package's middleware is invalid (the message names the middleware and the option). */
export const ERR_INVALID_OPTION = 'RT_INVALID_OPTION'

/** invalidOption builds the error thrown by a middleware factory for a bad option. */
export function invalidOption(who: string, message: string): RoundTripError {
  return new RoundTripError(ERR_INVALID_OPTION, `${who}: ${message}`)
}

/** checkDuration checks an optional duration in ms (a non-negative finite number) and returns it or `fallback`. */
export function checkDuration(who: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(who, `${name} must be a non-negative number of milliseconds (got ${String(value)})`)
  }
  return value
}

/** checkCount checks an optional count (a non-negative integer, or positive when `positive`) and returns it or `fallback`. */
export function checkCount(who: string, name: string, value: unknown, fallback: number, positive = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (positive ? 1 : 0)) {
    throw invalidOption(who, `${name} must be a ${positive ? 'positive' : 'non-negative'} integer (got ${String(value)})`)
  }
  return value
}
