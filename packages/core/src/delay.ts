import type { CallSignal } from './call-signal.js'

/**
 * delay resolves after `ms` milliseconds, or rejects with `signal.reason` as
 * soon as `signal` aborts (at once when it already has), as a RoundTripper
 * must. The timer and the listener are removed either way. (Node's
 * `timers/promises` rejects with its own `AbortError` instead of the reason.)
 *
 * @example
 * ```ts
 * await delay(backoffMs, callSignal(request)) // a retry's wait, cut short by an abort
 * ```
 */
export function delay(ms: number, signal: CallSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
