/**
 * rethrowLater throws `error` from a microtask: for an error thrown by a
 * callback that broke its contract (an observer, a leak handler), which must
 * neither be swallowed nor break the caller's own bookkeeping. It surfaces as
 * an uncaught exception.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}
