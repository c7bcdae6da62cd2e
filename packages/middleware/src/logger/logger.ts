import {
  attachHooks,
  bodyHold,
  detachHooks,
  getContext,
  observeBody,
  roundTripThen,
  type BodyOutcome,
  type BodySettled,
  type Middleware,
  type RoundTripContinuation,
  type RoundTripper,
} from '@roundtrip/core'
import { layer } from '../layer.js'
import '../context.js'
import { invalidOption } from '../errors.js'
import type { LoggerOptions, LogRecord, LogSink } from './options.js'
import { DEFAULT_SECRET_QUERY, pickHeaders, redactLoggedUrl } from './redact.js'

/**
 * logger is a middleware that writes one structured {@link LogRecord} per
 * request: method, redacted URL, status, durations, bytes, whether the
 * connection was reused, retries, error code. The record is written when
 * the call is over: when the body is read to the end, cancelled, fails or
 * is garbage-collected unread, or at once for a failure, a response
 * without a body, or one whose body the layer below already read or locked
 * (handed on as it is; the record has no `outcome`). Credentials in the URL, secret query values and secret
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

  const config: LoggerConfig = { write, secret, headerNames, now }
  return function loggerLayer(next) {
    return layer(
      (request) => new LoggerCall(config, request, undefined).run(next),
      next,
      (request, k) => new LoggerCall(config, request, k).run(next),
    )
  }
}

/** What every call of one logger() shares. */
interface LoggerConfig {
  write: (record: LogRecord, failed: boolean) => void
  secret: (name: string) => boolean
  headerNames: readonly string[]
  now: () => number
}

/**
 * LoggerCall is one logged call: its record, and the hooks that fill it.
 * Attached to the request as its call hooks object for the call (retry()
 * calls its `onRetry`), then the listener of the response body: one object
 * per call, no closure per hook.
 */
class LoggerCall implements RoundTripContinuation {
  readonly #config: LoggerConfig
  /** The reaction of the layer above, when it handed it down (core's kRoundTripThen): called with this call's outcome, and let go then (it may hold the request and its upload; this object lives on as the body's listener). */
  #k: RoundTripContinuation | undefined
  /** The request the hooks are attached to, until they come off (head or failure): the call object lives on as the body's listener, and must not keep the request (and its upload) for a whole download. */
  #request: Request | undefined
  readonly #start: number
  readonly #record: LogRecord
  /** The body's wire size is unknown (see responded()): `bytes` stays unset. */
  #sizeUnknown = false

  constructor(config: LoggerConfig, request: Request, k: RoundTripContinuation | undefined) {
    this.#config = config
    this.#k = k
    this.#request = request
    this.#start = config.now()
    const record: LogRecord = {
      method: request.method,
      url: redactLoggedUrl(request.url, config.secret),
      duration: 0,
      retries: 0,
    }
    const attempt = getContext(request).attempt
    if (attempt !== undefined) record.attempt = attempt
    if (config.headerNames.length > 0) record.requestHeaders = pickHeaders(request.headers, config.headerNames)
    this.#record = record
  }

  /** Starts the call: the promise of its outcome (with the reaction of the layer above applied, when it handed it down). */
  run(next: RoundTripper): Promise<Response> {
    // Hooks for this call, not a derived request: retry() calls this
    // onRetry (core's runCallHooks), the call object's own method. No
    // trace: `reused` comes with the response (core's bodyHold), so
    // the Transport does no per-call trace work for the logger.
    attachHooks(this.#request!, this)
    // This object is the reaction to the layer below (core's roundTripThen):
    // no functions per call, and one reaction for every layer below that
    // takes it down.
    return roundTripThen(next, this.#request!, this)
  }

  /** The reaction to the layer below's response: this call's, then the layer above's. */
  received(response: Response): Response | PromiseLike<Response> {
    const k = this.#k
    if (k === undefined) return this.#responded(response)
    this.#k = undefined
    let handed: Response
    try {
      handed = this.#responded(response)
    } catch (error) {
      return k.failed(error)
    }
    return k.received(handed)
  }

  /** The reaction to the layer below's failure: the record is written, then the layer above's reaction (or the rejection). */
  failed(error: unknown): Response | PromiseLike<Response> {
    const k = this.#k
    if (k === undefined) {
      this.#failed(error)
      throw error
    }
    try {
      this.#failed(error)
    } catch (thrown) {
      return k.failed(thrown)
    }
    return k.failed(error)
  }

  /** retry()'s call hook, before each retry. */
  onRetry(): void {
    this.#record.retries++
  }

  /**
   * The head arrived: the hooks come off, the record is written when the body
   * settles. No header is read: the body's size comes with its outcome (and
   * core builds a response's Headers only when someone reads them).
   */
  #responded(response: Response): Response {
    this.#detach()
    this.#record.status = response.status
    this.#record.headDuration = this.#config.now() - this.#start
    // Whether the connection was reused, as the producer of the response
    // declared it (the Transport does, for every response, bodiless ones
    // with a shared hold): unknown from a layer that declares nothing (fromFetch).
    const reused = bodyHold(response)?.reused
    if (reused !== undefined) this.#record.reused = reused
    let observed: Response
    try {
      observed = observeBody(response, this)
    } catch {
      // The layer below handed on a body already read or locked (RT_BODY_USED):
      // it cannot be watched. The response is the caller's as it is; the record
      // is written now, without an outcome.
      this.#record.duration = this.#record.headDuration!
      this.#config.write(this.#record, false)
      return response
    }
    // A body core does not track (a fetch Response, as `fromFetch` gives) is
    // wrapped, and its size is what the consumer read: the decoded size when
    // fetch decoded a content-encoding. A wrong size is worse than none.
    if (observed !== response && response.headers.has('content-encoding')) this.#sizeUnknown = true
    return observed
  }

  bodySettled(outcome: BodyOutcome, reason?: unknown, settled?: BodySettled): void {
    const record = this.#record
    record.duration = this.#config.now() - this.#start
    record.outcome = outcome
    if (outcome === 'end' && settled !== undefined && !this.#sizeUnknown) record.bytes = settled.encodedBytes
    if (outcome === 'error') fail(record, reason)
    this.#config.write(record, outcome === 'error')
  }

  /** The call failed without a response: the hooks come off, the record is written at once. */
  #failed(error: unknown): void {
    this.#detach()
    const record = this.#record
    record.duration = this.#config.now() - this.#start
    fail(record, error)
    this.#config.write(record, true)
  }

  #detach(): void {
    if (this.#request !== undefined) detachHooks(this.#request, this)
    this.#request = undefined
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
  const result =
    record.status === undefined ? record.errorCode ?? 'failed' : `${record.status}${outcome === 'end' || outcome === undefined ? '' : ` (${outcome})`}`
  return `${record.method} ${record.url} ${result} ${Math.round(record.duration)} ms`
}
