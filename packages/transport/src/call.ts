import { callTrace, redactUrl, stripFragment, type CallSignal, type RequestContext, type RoundTripContinuation } from '@roundtrip/core'
import type { PersistConn } from './conn.js'
import { requestLabel } from './errors.js'
import { tagBodyErrors } from './errors-map.js'
import type { Acquirer } from './acquirer.js'
import { Exchange, type ConnOwner } from './exchange.js'
import { policyOf, type RetryPolicy } from './retry-policy.js'
import { H2Lease } from './h2-stream.js'
import type { ConnWaiter, Got } from './waiter.js'
import { outgoingHeaders, type OutgoingHeaders } from './headers.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import { NO_BODY, type OutgoingBody } from './request-body.js'
import type { ClientTrace } from './trace.js'
import type { StageLimits } from './deadlines.js'

/**
 * Call is one roundTrip on its way: what it sends, and how it settles. It is
 * also its own {@link Holder}: the conn (or HTTP/2 stream) it gets says the
 * call holds it. A busy conn keeps its holder, so a call lets go of its
 * promise's settle functions once it has settled (see {@link respond}): a
 * settled promise holds the response, which would never be collected.
 */
export class Call implements Acquirer {
  readonly request: Request
  /** The request's URL, read once (`request.url` serializes it on every read). */
  readonly href: string
  readonly method: string
  pool: HostPool
  /** The request-target: origin-form, or absolute-form through a forwarding proxy. */
  readonly path: string
  /** How many times the call was replayed (retry-policy.ts's shouldResend: at most MAX_REPLAYS). */
  replays = 0
  body: OutgoingBody
  readonly retry: RetryPolicy
  /** What aborts the call: core's `callSignal(request)` (the request's signal, or a layer's deadline). */
  readonly signal: CallSignal
  /** The call's trace hooks: core's `callTrace(request)` (the context's, and those layers attached). */
  readonly trace: ClientTrace | undefined
  readonly headers: OutgoingHeaders
  /** The promise's settle functions (set by {@link callPromise}); no-ops once the call has settled. */
  resolve: (response: Response | PromiseLike<Response>) => void = noop
  reject: (error: unknown) => void = noop
  /**
   * The reaction of the layer above when it handed it down (core's
   * kRoundTripThen, see transport.ts): applied where the call settles, its
   * outcome the call's. Dropped with the settle functions.
   */
  k: RoundTripContinuation | undefined = undefined
  /** A deferred outcome (see {@link Call.react}): the response, or the error; and which (1: received, 2: failed; 0: none). */
  #outcome: unknown = undefined
  #deferred = 0
  /** When the call got its conn (the transport's clock), for {@link Holder}'s ages. */
  since = 0
  /** The request's own header and body limits (its context's `responseHeaderTimeout`, `bodyTimeout`), when it gave any. */
  limits: StageLimits | undefined = undefined
  /** An idle conn released in the current turn, which the call takes once the turn has ended (see transport.ts). */
  turnConn: PersistConn | undefined = undefined
  /** The waiter of a dial raced against that wait (see transport.ts), until the race is decided. */
  race: ConnWaiter | undefined = undefined
  /** Where the path starts in the request's URL. */
  readonly #slash: number
  /** What the call's exchange reports to (its Transport), and the Transport's options. */
  readonly #owner: ConnOwner
  readonly #options: ResolvedOptions

  constructor(
    request: Request,
    href: string,
    pool: HostPool,
    slash: number,
    body: OutgoingBody,
    retry: RetryPolicy,
    signal: CallSignal,
    trace: ClientTrace | undefined,
    headers: OutgoingHeaders,
    owner: ConnOwner,
    options: ResolvedOptions,
  ) {
    this.request = request
    this.href = href
    this.method = request.method
    this.pool = pool
    this.body = body
    this.retry = retry
    this.signal = signal
    this.trace = trace
    this.headers = headers
    this.#slash = slash
    this.#owner = owner
    this.#options = options
    this.path = requestTarget(href, slash, pool.method.forward)
  }

  /** `METHOD url` with credentials removed, for messages: made when one is written, not per request. */
  get what(): string {
    return requestLabel(this.method, this.href)
  }

  /** The request URL with credentials removed ({@link Holder}): read by stats and errors only. */
  get url(): string {
    return redactUrl(this.href)
  }

  /** `host[:port]` as the URL writes it (HTTP/2's `:authority`, a forwarding proxy's `Host`). */
  get authority(): string {
    return this.href.slice(this.href.indexOf('//') + 2, this.#slash)
  }

  /** send (Acquirer) writes the call on `got` (a stream of an HTTP/2 conn, or an HTTP/1.1 conn's undici client), answered to a new Exchange. */
  send(got: Got): void {
    const exchange = new Exchange(this, got, this.#owner, this.#options)
    if (got instanceof H2Lease) {
      got.send({ method: this.method, authority: this.authority, path: this.path, headers: this.headers.list, body: this.body }, exchange)
      return
    }
    got.client.dispatch(
      { path: this.path, method: this.method, headers: this.headers.list, body: this.body.body as Buffer | null, reset: this.headers.reset, blocking: false },
      exchange,
    )
  }

  /**
   * respond resolves the call with its response; the call then holds neither
   * settle function, nor its body. With a continuation (`k`), the call's
   * outcome is what `k.received` returns or throws, called from a microtask
   * (see {@link react}).
   */
  respond(response: Response): void {
    if (this.k !== undefined) return this.#defer(true, response)
    const resolve = this.resolve
    this.#settled()
    resolve(response)
  }

  /** fail rejects the call with `error` (once: a settled call ignores it); with a continuation, its outcome is what `k.failed` returns or throws. */
  fail(error: unknown): void {
    if (this.k !== undefined) return this.#defer(false, error)
    const reject = this.reject
    this.#settled()
    reject(error)
  }

  /**
   * defer keeps the outcome for {@link react}, which calls `k` from a
   * microtask, as a `.then` would: never inside `roundTrip` (a call may fail
   * there) nor inside the caller's `abort()`, and after the rest of the
   * socket read that brought the head (a small body is then complete, and
   * its conn released, before a layer that discards it reacts: a redirect
   * or a retried status reuses the conn).
   */
  #defer(ok: boolean, outcome: unknown): void {
    if (this.#deferred !== 0) return
    this.#deferred = ok ? 1 : 2
    this.#outcome = outcome
    this.body = NO_BODY
    enqueue(this)
  }

  /** react applies the continuation deferred by {@link #defer}: its result or throw settles the call. */
  react(): void {
    const k = this.k!
    const resolve = this.resolve
    const reject = this.reject
    const ok = this.#deferred === 1
    const outcome = this.#outcome
    this.#settled()
    this.#outcome = undefined
    try {
      resolve(ok ? k.received(outcome as Response) : k.failed(outcome))
    } catch (error) {
      reject(error)
    }
  }

  #settled(): void {
    this.resolve = noop
    this.reject = noop
    this.k = undefined
    this.body = NO_BODY
  }
}

/**
 * The calls whose continuation reacts in the next microtask:
 * one microtask (a `.then` on a settled promise) for the calls that settle
 * in one turn, no closure per call.
 */
const reacting: Array<Call | undefined> = []
/** How many calls wait in `reacting`: its length stays (setting it to 0 would free the backing store, made again by the next push). */
let waiting = 0
const settledPromise = Promise.resolve()

function enqueue(call: Call): void {
  reacting[waiting++] = call
  if (waiting === 1) void settledPromise.then(reactAll)
}

function reactAll(): void {
  // A continuation may settle more calls (a retry that fails at once): they react in this loop, after it returned.
  for (let i = 0; i < waiting; i++) {
    const call = reacting[i]!
    reacting[i] = undefined
    call.react()
  }
  waiting = 0
}

function noop(): void {}

/** The call whose promise is being made (see {@link callPromise}). */
let binding: Call | undefined

function bindSettle(resolve: (response: Response | PromiseLike<Response>) => void, reject: (error: unknown) => void): void {
  binding!.resolve = resolve
  binding!.reject = reject
}

/**
 * callPromise makes the promise `call` settles. The executor is one
 * function for every call (it runs synchronously, so the call waits in a
 * module variable): a closure per request, and its context, less.
 */
export function callPromise(call: Call): Promise<Response> {
  binding = call
  const promise = new Promise<Response>(bindSettle)
  binding = undefined
  return promise
}

/**
 * requestTarget is the request-target of `href` (a serialized URL, whose
 * path starts at `slash`: a special scheme's URL always has one): the path
 * and query, or the whole URL when an HTTP proxy forwards it (RFC 9112
 * §3.2.2); never the fragment.
 */
export function requestTarget(href: string, slash: number, forward: boolean): string {
  const url = stripFragment(href)
  return forward ? url : url.slice(slash)
}

/** newCall makes the Call of `request` (at `href`) once its body is prepared: headers, retry policy, body error tagging. */
export function newCall(
  request: Request,
  href: string,
  pool: HostPool,
  slash: number,
  prepared: OutgoingBody,
  context: Readonly<RequestContext>,
  signal: CallSignal,
  options: ResolvedOptions,
  owner: ConnOwner,
): Call {
  const headers = outgoingHeaders(request.headers, options, context.decompress !== false, prepared.length, context.headerNames)
  const streamed = prepared.body !== null && !Buffer.isBuffer(prepared.body)
  const body = streamed ? { ...prepared, body: tagBodyErrors(prepared.body as AsyncIterable<Uint8Array>, requestLabel(request.method, href)) } : prepared
  const call = new Call(request, href, pool, slash, body, policyOf(request.method, headers.keyed, prepared.replayable), signal, callTrace<ClientTrace>(request), headers, owner, options)
  // A forwarded request names its target in `Host`: the conn is the proxy's, shared by every target.
  if (pool.method.forward) pool.method.forwardHeaders(headers, call.authority)
  return call
}
