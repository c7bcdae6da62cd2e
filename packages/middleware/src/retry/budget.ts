import { checkCount, invalidOption } from '../errors.js'

/** Options for {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per request, as a fraction: each request through the
   * middleware deposits this many tokens and each retry withdraws one.
   * Default {@link DEFAULT_RETRY_BUDGET_RATIO} (0.2: a failing upstream gets
   * at most 20% more traffic, plus the reserve). 0 = only the reserve.
   */
  ratio?: number
  /**
   * Tokens the bucket starts with and can hold, so that a client with little
   * traffic can still retry. Default {@link DEFAULT_RETRY_BUDGET_RESERVE} (10).
   */
  reserve?: number
}

/** DEFAULT_RETRY_BUDGET_RATIO is the default share of requests that may be retried. */
export const DEFAULT_RETRY_BUDGET_RATIO = 0.2
/** DEFAULT_RETRY_BUDGET_RESERVE is the default size of the retry budget's bucket. */
export const DEFAULT_RETRY_BUDGET_RESERVE = 10

/**
 * RetryBudget is a token bucket that caps retries to a share of the
 * requests, as gRPC's retry throttling and Finagle's `RetryBudget` do: each
 * request deposits `ratio` tokens (the bucket holds at most `reserve`), each
 * retry needs a whole token. Over any run, retries ≤ `reserve` + `ratio` ×
 * requests, so a 100%-failing upstream sees at most about `1 + ratio` times
 * the traffic instead of `1 + limit` times. Share one budget between
 * several `retry()` layers to cap them together.
 */
export class RetryBudget {
  readonly #ratio: number
  readonly #reserve: number
  #tokens: number

  constructor(options: RetryBudgetOptions = {}) {
    const ratio = options.ratio ?? DEFAULT_RETRY_BUDGET_RATIO
    if (typeof ratio !== 'number' || !(ratio >= 0) || !Number.isFinite(ratio)) {
      throw invalidOption('RetryBudget', `ratio must be a non-negative number (got ${String(ratio)})`)
    }
    this.#ratio = ratio
    this.#reserve = checkCount('RetryBudget', 'reserve', options.reserve, DEFAULT_RETRY_BUDGET_RESERVE)
    this.#tokens = this.#reserve
  }

  /** The tokens in the bucket now (retries allowed before the next deposit). */
  get tokens(): number {
    return this.#tokens
  }

  /** Records a request: adds `ratio` tokens, up to `reserve`. */
  deposit(): void {
    const tokens = this.#tokens + this.#ratio
    this.#tokens = tokens > this.#reserve ? this.#reserve : tokens
  }

  /** Takes a token for a retry; returns false (and takes nothing) when there is no whole token. */
  tryWithdraw(): boolean {
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
