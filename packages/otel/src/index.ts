export { otel, INSTRUMENTATION_NAME, DURATION_BUCKETS } from './otel.js'
export type { OtelOptions, StatsSource } from './options.js'
export { ERR_INVALID_OPTION } from './options.js'
export { DEFAULT_REDACTED_QUERY } from './attributes.js'
