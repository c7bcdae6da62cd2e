export { retry } from './retry/retry.js'
export type { RetryOptions, RetryInfo } from './retry/options.js'
export {
  DEFAULT_RETRY_LIMIT,
  DEFAULT_RETRY_METHODS,
  DEFAULT_RETRY_STATUS_CODES,
  DEFAULT_BACKOFF_BASE,
  DEFAULT_BACKOFF_MAX,
  DEFAULT_MAX_RETRY_AFTER,
} from './retry/options.js'
export { RetryBudget, DEFAULT_RETRY_BUDGET_RATIO, DEFAULT_RETRY_BUDGET_RESERVE } from './retry/budget.js'
export type { RetryBudgetOptions } from './retry/budget.js'
export { timeout, timeoutError } from './timeout/timeout.js'
export type { TimeoutOptions } from './timeout/timeout.js'
export { defaultHeaders } from './default-headers/default-headers.js'
export type { HeaderValue } from './default-headers/default-headers.js'
export { logger, errorCode } from './logger/logger.js'
export type { LoggerOptions, LogRecord, LogSink } from './logger/options.js'
export { DEFAULT_SECRET_QUERY, REDACTED } from './logger/redact.js'
export { concurrencyLimit } from './concurrency-limit/concurrency-limit.js'
export type { ConcurrencyLimitOptions } from './concurrency-limit/concurrency-limit.js'
export { dedupe, dedupeKey } from './dedupe/dedupe.js'
export type { DedupeOptions } from './dedupe/dedupe.js'
export { ERR_INVALID_OPTION } from './errors.js'
