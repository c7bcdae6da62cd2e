import type { CallSignal } from '@roundtrip/core'
import type { RetryBudget, RetryBudgetOptions } from './budget.js'

/** RetryInfo describes a retry about to happen; `onRetry` receives it. */
export interface RetryInfo {
  /** The caller's request. */
  request: Request
  /** The attempt about to be made: 2 for the first retry. */
  attempt: number
  /** The wait before it, in milliseconds (from `Retry-After` or the backoff). */
  delay: number
  /** The error of the failed attempt, when it failed without a response. */
  error?: unknown
  /** The status of the discarded response, when there was one (its body is already cancelled). */
  status?: number
}

/** Options for {@link retry}. */
export interface RetryOptions {
  /** Retries after the first attempt. Default {@link DEFAULT_RETRY_LIMIT} (2). 0 = never retry. */
  limit?: number
  /**
   * Methods whose requests are retried after a response with one of
   * `statusCodes`, or a failure after the request may have been sent.
   * Default {@link DEFAULT_RETRY_METHODS}: the idempotent ones. A request
   * with an `Idempotency-Key` header counts as idempotent whatever its method.
   */
  methods?: Iterable<string>
  /** Statuses that are retried for idempotent requests. Default {@link DEFAULT_RETRY_STATUS_CODES}. */
  statusCodes?: Iterable<number>
  /**
   * Exponential backoff with full jitter: before retry n (1-based) the wait
   * is a random time in [0, min(`max`, `base` × 2^(n−1))). Milliseconds;
   * defaults {@link DEFAULT_BACKOFF_BASE} and {@link DEFAULT_BACKOFF_MAX}.
   */
  backoff?: { base?: number; max?: number }
  /**
   * The longest `Retry-After` (seconds or HTTP date) honoured, in
   * milliseconds: a response that asks for a longer wait is returned as is.
   * Default {@link DEFAULT_MAX_RETRY_AFTER} (60 s).
   */
  maxRetryAfter?: number
  /**
   * The retry budget: a {@link RetryBudget} (to share one between layers),
   * its options, or `false` for none. Default: a budget of its own with the
   * default options.
   */
  budget?: RetryBudget | RetryBudgetOptions | false
  /** Called before each retry's wait. An exception stops the retries and rejects the call with it. */
  onRetry?: (info: RetryInfo) => void
  /** The clock, in milliseconds since the epoch (for `Retry-After` dates). Default `Date.now`. */
  now?: () => number
  /**
   * Waits `ms` milliseconds, rejecting at once with `signal.reason` when
   * `signal` aborts. Default: a timer. Tests inject their own.
   */
  sleep?: (ms: number, signal: CallSignal) => Promise<void>
  /** A number in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number
}

/** DEFAULT_RETRY_LIMIT is the default number of retries after the first attempt. */
export const DEFAULT_RETRY_LIMIT = 2
/** DEFAULT_RETRY_METHODS are the idempotent methods (RFC 9110 §9.2.2). */
export const DEFAULT_RETRY_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** DEFAULT_RETRY_STATUS_CODES are the statuses retried for idempotent requests. */
export const DEFAULT_RETRY_STATUS_CODES: readonly number[] = Object.freeze([408, 429, 500, 502, 503, 504])
/** DEFAULT_BACKOFF_BASE is the backoff's first cap, in milliseconds. */
export const DEFAULT_BACKOFF_BASE = 100
/** DEFAULT_BACKOFF_MAX is the backoff's largest cap, in milliseconds. */
export const DEFAULT_BACKOFF_MAX = 10_000
/** DEFAULT_MAX_RETRY_AFTER is the longest `Retry-After` honoured, in milliseconds. */
export const DEFAULT_MAX_RETRY_AFTER = 60_000
