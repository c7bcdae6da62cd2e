import type { BodyOutcome } from '@roundtrip/core'

/** LogRecord is the structured record `logger()` writes once per request (or once per attempt when inside `retry()`). */
export interface LogRecord {
  /** The request method. */
  method: string
  /** The URL without credentials, secret query values replaced by `[REDACTED]`, without the fragment. */
  url: string
  /** The response status; absent when the call failed without a response. */
  status?: number
  /** Milliseconds from the call to the response head. */
  headDuration?: number
  /** Milliseconds from the call to the end of the body (read, cancelled or failed), or to the failure. */
  duration: number
  /**
   * Body bytes received, as they came off the wire (before content decoding),
   * when the body was read to the end; 0 for a response without a body.
   * Absent when the wire size is unknown: a body core does not track (a fetch
   * `Response`, as `fromFetch` gives) with a `content-encoding`, which fetch
   * decoded. Without one, such a body's size is the bytes read.
   */
  bytes?: number
  /** How the body settled: `end`, `cancel`, `error` or `collected` (garbage-collected unread). Absent for a failure, and for a body the layer below handed on already read or locked (it cannot be watched). */
  outcome?: BodyOutcome
  /**
   * Whether the connection had served an earlier request, as the producer of
   * the response declared it (core's `bodyHold(response).reused`; the
   * Transport declares it on every response it makes, with a body or
   * without one — `HEAD`, 204, 304 — so no per-request trace is attached).
   * Absent when nothing declares it: a failure before any response, and a
   * RoundTripper that declares no connection (`fromFetch` over Node's
   * fetch). A caller's own `gotConn` trace hook still sees every connection.
   */
  reused?: boolean
  /** Retries `retry()` made for this call (when the logger is outside `retry()`). */
  retries: number
  /** The attempt this record is for, 2 and up (when the logger is inside `retry()` and this is a retry). */
  attempt?: number
  /** The failure's code (`RT_CONNECT_REFUSED`, `ECONNRESET`, the `DOMException` name `TimeoutError`, …). */
  errorCode?: string
  /** The failure's message. */
  error?: string
  /** The request headers named in `headers`, secrets (`authorization`, `cookie`, …) redacted. */
  requestHeaders?: Record<string, string>
}

/**
 * LogSink receives the records: a function, or a logger with `info` and
 * `error` methods called as `(record, message)` — pino, console, most
 * others. Failures (no response, or a body that errored) go to `error`.
 */
export type LogSink = ((record: LogRecord) => void) | { info(record: LogRecord, message?: string): void; error(record: LogRecord, message?: string): void }

/** Options for {@link logger}. */
export interface LoggerOptions {
  /** Where records go. Default `console`. */
  log?: LogSink
  /**
   * Query parameter names whose values are redacted: a pattern or a
   * predicate. Default {@link DEFAULT_SECRET_QUERY}.
   */
  redactQuery?: RegExp | ((name: string) => boolean)
  /** Request header names (lower case) copied into the record; secrets are redacted whatever you list. Default none. */
  headers?: readonly string[]
  /** A monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number
}
