import { ERR_INVALID_OPTION, TransportError } from './errors.js'
import { MAX_TIMER_DELAY } from './options.js'

// Reading one Transport option value: the checks and messages shared by the
// options of a kind, top-level (`maxWaitTime`) or nested (`http2.pingTimeout`).

/** invalidOption is the `RT_INVALID_OPTION` error of a bad Transport option. */
export function invalidOption(message: string): TransportError {
  return new TransportError(ERR_INVALID_OPTION, message)
}

/**
 * integerOption reads the integer option `name` of `options`: `fallback`
 * when undefined, else an integer of at least `min` (and at most `max`, when
 * given). `label` names it in the error (`http2.initialWindowSize` for a
 * nested one); `unit` follows the bounds.
 */
export function integerOption(options: object, name: string, fallback: number, min = 0, label = name, unit = '', max?: number): number {
  const value = (options as Record<string, unknown>)[name]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const bounds = max === undefined ? `>= ${min}` : `from ${min} to ${max}`
    throw invalidOption(`invalid Transport option ${label}: expected an integer ${bounds}${unit}, got ${String(value)}`)
  }
  return value
}

/**
 * durationOption reads a duration in ms where 0 means no limit; `Infinity`
 * or 2³¹ ms and more mean no limit too (Node's timers cannot hold longer
 * delays, and would fire after 1 ms).
 */
export function durationOption(options: object, name: string, fallback: number, label = name): number {
  if ((options as Record<string, unknown>)[name] === Number.POSITIVE_INFINITY) return 0
  const ms = integerOption(options, name, fallback, 0, label, ' (ms)')
  return ms >= MAX_TIMER_DELAY ? 0 : ms
}
