import type { Transform } from 'node:stream'
import { createBody, createResponse, getContext, isNullBodyStatus, type BodySink, type TrackedBody } from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import type { PersistConn } from './conn.js'
import { createDecoder } from './decode.js'
import { ERR_BODY_TIMEOUT, ERR_HEADERS_TIMEOUT, TransportError } from './errors.js'
import { isSocketFailure, mapError } from './errors-map.js'
import type { ResolvedOptions } from './options.js'
import type { OutgoingBody } from './request-body.js'
import { callHook, type ClientTrace } from './trace.js'

/** What an exchange needs from the transport that owns its connection. */
export interface ConnOwner {
  /** The response is complete: reuse or close the conn. */
  release(conn: PersistConn, trace: ClientTrace | undefined): void
  /** The exchange failed or was cancelled: the conn is closed. */
  discard(conn: PersistConn, error: Error, trace: ClientTrace | undefined): void
}

/**
 * StaleConnError wraps a failure on a reused connection before any response
 * byte arrived, for a request that may be sent again (Go's
 * `shouldRetryRequest`). The transport retries it on another connection.
 */
export class StaleConnError extends Error {
  constructor(readonly failure: Error) {
    super(failure.message, { cause: failure })
  }
}

const REPLAYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** isReplayable reports whether a request may be sent again after a stale-connection failure. */
export function isReplayable(request: Request, body: OutgoingBody): boolean {
  if (!body.replayable) return false
  return REPLAYABLE_METHODS.has(request.method) || request.headers.has('idempotency-key')
}

/**
 * Exchange is one request/response on one connection: the undici dispatch
 * handler that turns the response head into a `Response` and feeds its body
 * through core's body lifecycle, so that the connection is released when the
 * server has sent the whole body and closed when the reader cancels.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly #request: Request
  readonly #conn: PersistConn
  readonly #owner: ConnOwner
  readonly #options: ResolvedOptions
  readonly #trace: ClientTrace | undefined
  readonly #what: string
  readonly #replayable: boolean
  // Dropped once used: a settled promise holds its value, and the response
  // must not be kept alive by the connection (it would never be collected).
  #resolve: (response: Response) => void
  #reject: (error: unknown) => void
  #abort: ((error: Error) => void) | undefined
  #responded = false
  #sink: BodySink | undefined
  #decoder: Transform | undefined
  #onSignal: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #done = false

  constructor(
    request: Request,
    conn: PersistConn,
    owner: ConnOwner,
    options: ResolvedOptions,
    trace: ClientTrace | undefined,
    what: string,
    replayable: boolean,
    resolve: (response: Response) => void,
    reject: (error: unknown) => void,
  ) {
    this.#request = request
    this.#conn = conn
    this.#owner = owner
    this.#options = options
    this.#trace = trace
    this.#what = what
    this.#replayable = replayable
    this.#resolve = resolve
    this.#reject = reject
    const signal = request.signal
    if (!signal.aborted) {
      this.#onSignal = () => this.#abort?.(signal.reason)
      signal.addEventListener('abort', this.#onSignal, { once: true })
    }
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort as (error: Error) => void
    if (this.#request.signal.aborted) abort(this.#request.signal.reason)
    else this.#arm('head')
  }

  /**
   * undici runs header and body timeouts on its coarse timers (about 1 s of
   * resolution); a limit under a second gets a precise timer of ours here.
   */
  #arm(stage: 'head' | 'body'): void {
    const ms = stage === 'head' ? this.#options.responseHeaderTimeout : this.#options.bodyTimeout
    this.#disarm()
    if (ms <= 0 || ms >= PRECISE_BELOW) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const error =
        stage === 'head'
          ? new TransportError(ERR_HEADERS_TIMEOUT, `no response head within ${ms} ms (${this.#what})`)
          : new TransportError(ERR_BODY_TIMEOUT, `no response body data for ${ms} ms (${this.#what})`)
      this.#abort?.(error)
    }, ms)
    this.#timer.unref()
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  onResponseStarted(): void {
    callHook(this.#trace, 'gotFirstResponseByte')
  }

  onRequestSent(): void {
    callHook(this.#trace, 'wroteRequest', {})
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // A status a Response cannot hold: createResponse throws its coded error,
    // undici aborts the request with it and the conn is closed.
    if (statusCode < 200 || statusCode > 599) createResponse(null, { status: statusCode, url: this.#what })
    const conn = this.#conn
    let contentEncoding: string | null = null
    const pairs: string[] = new Array(rawHeaders.length)
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1')
      const value = rawHeaders[i + 1]!.toString('latin1')
      pairs[i] = name
      pairs[i + 1] = value
      if (name.length === 10) {
        const lower = name.toLowerCase()
        if (lower === 'connection' && /\bclose\b/i.test(value)) conn.reusable = false
        else if (lower === 'keep-alive') applyKeepAliveHint(conn, value)
      } else if (name.length === 16 && name.toLowerCase() === 'content-encoding') {
        contentEncoding = contentEncoding === null ? value : `${contentEncoding}, ${value}`
      }
    }
    const nullBody = this.#request.method === 'HEAD' || isNullBodyStatus(statusCode)
    let responseBody: TrackedBody | null = null
    if (!nullBody) {
      const decode = !this.#options.disableCompression && getContext(this.#request).decompress !== false
      const decoder = decode ? createDecoder(contentEncoding) : undefined
      const body = createBody(
        {
          pull: () => {
            // The reader wants more: the body clock runs again.
            if (this.#timer === undefined && !this.#done) this.#arm('body')
            decoder?.resume()
            resume()
          },
          cancel: (reason) => this.#abort?.(reason instanceof Error ? reason : new Error(String(reason ?? 'body cancelled'))),
        },
        { highWaterMark: this.#options.bodyHighWaterMark },
      )
      responseBody = body.body
      this.#sink = body.sink
      if (decoder !== undefined) this.#pipeDecoder(decoder, body.sink, resume)
    }
    const response = createResponse(responseBody, { status: statusCode, statusText, url: responseUrl(this.#request.url), type: 'basic' })
    // Appended to the response's own Headers: building a Headers to pass in would be copied once more.
    const headers = response.headers
    for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!)
    this.#responded = true
    if (responseBody !== null) this.#arm('body')
    else this.#disarm()
    const resolve = this.#resolve
    this.#resolve = noop
    this.#reject = noop
    resolve(response)
    return true
  }

  #pipeDecoder(decoder: Transform, sink: BodySink, resume: () => void): void {
    this.#decoder = decoder
    decoder.on('data', (chunk: Buffer) => {
      if (!sink.push(chunk)) decoder.pause()
    })
    decoder.on('drain', resume)
    decoder.on('end', () => sink.end())
    decoder.on('error', (error) => {
      const failure = mapError(error, this.#what, this.#options, true)
      sink.error(failure)
      this.#abort?.(failure)
    })
  }

  onData(chunk: Buffer): boolean {
    this.#timer?.refresh()
    const decoder = this.#decoder
    const more = decoder !== undefined ? decoder.write(chunk) : (this.#sink?.push(chunk) ?? true)
    // Paused for a slow reader: the gap is the reader's, not the server's.
    if (!more) this.#disarm()
    return more
  }

  onComplete(): void {
    this.#finish()
    this.#owner.release(this.#conn, this.#trace)
    if (this.#decoder !== undefined) this.#decoder.end()
    else this.#sink?.end()
  }

  onError(error: Error): void {
    this.#finish()
    const signal = this.#request.signal
    const aborted = signal.aborted && (error === signal.reason || !this.#responded)
    const failure = aborted ? signal.reason : mapError(error, this.#what, this.#options, this.#responded)
    this.#owner.discard(this.#conn, failure instanceof Error ? failure : error, this.#trace)
    if (!this.#responded) {
      if (!aborted && this.#replayable && this.#conn.requests > 1 && isSocketFailure(error)) {
        this.#reject(new StaleConnError(failure))
      } else {
        this.#reject(failure)
      }
      return
    }
    if (this.#decoder !== undefined) this.#decoder.destroy()
    this.#sink?.error(failure)
  }

  #finish(): void {
    this.#done = true
    this.#disarm()
    if (this.#onSignal !== undefined) {
      this.#request.signal.removeEventListener('abort', this.#onSignal)
      this.#onSignal = undefined
    }
  }
}

function noop(): void {}

/** Header and body limits below this many ms get a precise timer (undici's resolution is about 1 s). */
const PRECISE_BELOW = 1_000

/** A response's URL is the request's without its fragment, as in fetch. */
function responseUrl(url: string): string {
  const hash = url.indexOf('#')
  return hash < 0 ? url : url.slice(0, hash)
}

/** applyKeepAliveHint shortens a conn's idle limit to the server's `Keep-Alive: timeout=N`, minus a 1 s margin. */
function applyKeepAliveHint(conn: PersistConn, value: string): void {
  const match = /timeout=(\d+)/i.exec(value)
  if (match === null) return
  const hint = Number(match[1]) * 1000 - 1000
  if (hint <= 0) conn.reusable = false
  else if (conn.idleLimit === 0 || hint < conn.idleLimit) conn.idleLimit = hint
}
