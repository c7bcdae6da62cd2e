import type { RetryInfo } from './retry/options.js'

declare module '@roundtrip/core' {
  interface RequestContext {
    /**
     * A deadline for this request in milliseconds, used by `timeout()`
     * instead of its own `ms`; 0 means no deadline for this request.
     */
    timeout?: number
    /** Called by `retry()` before each retry of this request (after `retry`'s own `onRetry`). */
    onRetry?: (info: RetryInfo) => void
    /** Set by `retry()` on the request of each retry: the attempt number (2 for the first retry). */
    attempt?: number
  }
  interface CallHooks {
    /** Called by `retry()` before each retry of this call, after the context's `onRetry` (a logger outside the retry counts them). */
    onRetry?: (info: RetryInfo) => void
  }
}

export {}
