import type { CallSignal } from '@roundtrip/core'

/**
 * abortable settles as `promise` does, or rejects with `signal.reason` as
 * soon as the signal aborts (the RoundTripper contract). The listener is
 * removed either way. A value that arrives after the abort is handed to
 * `discard` (to cancel a response body nobody will read).
 */
export function abortable<T>(promise: Promise<T>, signal: CallSignal, discard?: (late: T) => void): Promise<T> {
  if (signal.aborted) {
    promise.then(discard, () => {})
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        if (signal.aborted) discard?.(value)
        else resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
