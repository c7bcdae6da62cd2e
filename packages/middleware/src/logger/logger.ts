import { attachHooks, getContext, observeBody, roundTripper, tryRoundTrip, type BodyOutcome, type Middleware } from '@roundtrip/core'
import '../context.js'
import { invalidOption } from '../errors.js'
import type { LoggerOptions, LogRecord, LogSink } from './options.js'
import { DEFAULT_SECRET_QUERY, pickHeaders, redactLoggedUrl } from './redact.js'

/**
 * logger is a middleware that writes one structured {@link LogRecord} per
 * request: method, redacted URL, status, durations, bytes, whether the
 * connection was reused, retries, error code. The record is written when
 * the call is over: when the body is read to the end, cancelled, fails or
 * is garbage-collected unread, or at once for a failure or a response
 * without a body. Credentials in the URL, secret query values and secret
 * headers are redacted; no body is ever logged.
 *
 * Placed outside `retry()` it logs once per call, with `retries`; inside,
 * once per attempt, with `attempt`. A `log` that throws becomes a process
 * warning (`RT_LOGGER_THREW`); the request goes on.
 *
 * @throws RoundTripError `RT_INVALID_OPTION` for a bad option.
 *
 * @example
 * ```ts
 * import pino from 'pino'
 * const client = compose(new Transport(), logger({ log: pino() }), retry())
 * ```
 */
export function logger(options: LoggerOptions = {}): Middleware {
  const sink: LogSink = options.log ?? console
  const write = toWriter(sink)
  const pattern = options.redactQuery ?? DEFAULT_SECRET_QUERY
  const secret = typeof pattern === 'function' ? pattern : (name: string) => pattern.test(name)
  if (typeof secret !== 'function' || (typeof pattern !== 'function' && !(pattern instanceof RegExp))) {
    throw invalidOption('logger', 'redactQuery must be a RegExp or a function')
  }
  const headerNames = (options.headers ?? []).map((name) => String(name).toLowerCase())
  const now = options.now ?? (() => performance.now())

  return function loggerLayer(next) {
    return roundTripper((request) => {
      const start = now()
      const record: LogRecord = { method: request.method, url: redactLoggedUrl(request.url, secret), duration: 0, retries: 0 }
      const context = getContext(request)
      if (context.attempt !== undefined) record.attempt = context.attempt
      if (headerNames.length > 0) record.requestHeaders = pickHeaders(request.headers, headerNames)
      // Hooks for this call, not a derived request: the Transport calls the
      // caller's trace and this one (core's callTrace), and retry() this onRetry.
      const detach = attachHooks(request, {
        trace: {
          gotConn(info: { reused: boolean }) {
            record.reused = info.reused
          },
        },
        onRetry() {
          record.retries++
        },
      })
      return tryRoundTrip(next, request).then(
        (response) => {
          detach()
          record.status = response.status
          record.headDuration = now() - start
          return observeBody(response, (outcome, reason) => {
            record.duration = now() - start
            record.outcome = outcome
            if (outcome === 'end') {
              const length = response.headers.get('content-length')
              const encoding = response.headers.get('content-encoding')
              if (length !== null && (encoding === null || encoding === 'identity') && /^\d+$/.test(length)) record.bytes = Number(length)
            }
            if (outcome === 'error') fail(record, reason)
            write(record, outcome === 'error')
          })
        },
        (error: unknown) => {
          detach()
          record.duration = now() - start
          fail(record, error)
          write(record, true)
          throw error
        },
      )
    })
  }
}

function fail(record: LogRecord, error: unknown): void {
  const code = errorCode(error)
  if (code !== undefined) record.errorCode = code
  record.error = error instanceof Error || error instanceof DOMException ? error.message : String(error)
}

/** errorCode finds the first string `code` on the error or its causes, or a DOMException's name. */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    if (current instanceof DOMException) return current.name
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function toWriter(sink: LogSink): (record: LogRecord, failed: boolean) => void {
  let emit: (record: LogRecord, failed: boolean) => void
  if (typeof sink === 'function') emit = (record) => sink(record)
  else if (typeof sink === 'object' && sink !== null && typeof sink.info === 'function' && typeof sink.error === 'function') {
    emit = (record, failed) => (failed ? sink.error(record, message(record)) : sink.info(record, message(record)))
  } else throw invalidOption('logger', 'log must be a function or an object with info and error methods')
  return (record, failed) => {
    try {
      emit(record, failed)
    } catch (error) {
      process.emitWarning(`logger: log threw: ${String((error as Error)?.stack ?? error)}`, { code: 'RT_LOGGER_THREW' })
    }
  }
}

function message(record: LogRecord): string {
  const outcome: BodyOutcome | undefined = record.outcome
  const result = record.status === undefined ? (record.errorCode ?? 'failed') : `${record.status}${outcome === 'end' || outcome === undefined ? '' : ` (${outcome})`}`
  return `${record.method} ${record.url} ${result} ${Math.round(record.duration)} ms`
}
