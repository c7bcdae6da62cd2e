import { callTrace, stripFragment, type CallSignal, type RequestContext } from '@roundtrip/core'
import type { Holder, PersistConn } from './conn.js'
import { tagBodyErrors } from './errors-map.js'
import type { Exchange } from './exchange.js'
import { retryPolicy, type RetryPolicy } from './retry-policy.js'
import { H2Lease, sendOnStream } from './h2-stream.js'
import type { Got } from './waiter.js'
import { outgoingHeaders, type OutgoingHeaders } from './headers.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import type { OutgoingBody } from './request-body.js'
import type { ClientTrace } from './trace.js'

/** Call is one roundTrip on its way: what it sends, and how it settles. */
export class Call {
  readonly request: Request
  pool: HostPool
  /** The request-target: origin-form, or absolute-form through a forwarding proxy. */
  readonly path: string
  /** `METHOD url` with credentials removed, for messages. */
  readonly what: string
  /** How many times the call was sent again after an HTTP/2 server refused it unprocessed (bounded). */
  replays = 0
  readonly body: OutgoingBody
  readonly retry: RetryPolicy
  /** What aborts the call: core's `callSignal(request)` (the request's signal, or a layer's deadline). */
  readonly signal: CallSignal
  /** The call's trace hooks: core's `callTrace(request)` (the context's, and those layers attached). */
  readonly trace: ClientTrace | undefined
  readonly headers: OutgoingHeaders
  readonly resolve: (response: Response) => void
  readonly reject: (error: unknown) => void
  readonly method: string
  /**
   * What the conn (or HTTP/2 stream) the call gets says holds it. Not the
   * call itself: a busy conn keeps its holder, and the call keeps the
   * settled promise of the response, which would never be collected.
   */
  readonly holder: Holder
  /** An idle conn released in the current turn, which the call takes once the turn has ended (see transport.ts). */
  turnConn: PersistConn | undefined = undefined
  /** Where the path starts in the request's URL. */
  readonly #slash: number

  constructor(
    request: Request,
    pool: HostPool,
    slash: number,
    what: string,
    body: OutgoingBody,
    retry: RetryPolicy,
    signal: CallSignal,
    trace: ClientTrace | undefined,
    headers: OutgoingHeaders,
    resolve: (response: Response) => void,
    reject: (error: unknown) => void,
  ) {
    this.request = request
    this.pool = pool
    this.what = what
    this.body = body
    this.retry = retry
    this.signal = signal
    this.trace = trace
    this.headers = headers
    this.resolve = resolve
    this.reject = reject
    this.method = request.method
    this.holder = { method: this.method, url: what.slice(this.method.length + 1), since: 0 }
    this.#slash = slash
    this.path = requestTarget(request.url, slash, pool.method.forward)
  }

  /** `host[:port]` as the URL writes it (HTTP/2's `:authority`, a forwarding proxy's `Host`). */
  get authority(): string {
    const href = this.request.url
    return href.slice(href.indexOf('//') + 2, this.#slash)
  }
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

/** newCall makes the Call of `request` once its body is prepared: headers, retry policy, body error tagging. */
export function newCall(
  request: Request,
  pool: HostPool,
  slash: number,
  what: string,
  prepared: OutgoingBody,
  context: Readonly<RequestContext>,
  signal: CallSignal,
  options: ResolvedOptions,
  resolve: (response: Response) => void,
  reject: (error: unknown) => void,
): Call {
  const headers = outgoingHeaders(request.headers, options, context.decompress !== false, prepared.length, context.headerNames)
  const streamed = prepared.body !== null && !Buffer.isBuffer(prepared.body)
  const body = streamed ? { ...prepared, body: tagBodyErrors(prepared.body as AsyncIterable<Uint8Array>, what) } : prepared
  const call = new Call(request, pool, slash, what, body, retryPolicy(request, prepared), signal, callTrace<ClientTrace>(request), headers, resolve, reject)
  // A forwarded request names its target in `Host`: the conn is the proxy's, shared by every target.
  if (pool.method.forward) pool.method.forwardHeaders(headers, call.authority)
  return call
}

/** sendCall writes `call` on `conn` (a stream of an HTTP/2 conn, or an HTTP/1.1 conn's undici client), answered to `exchange`. */
export function sendCall(call: Call, conn: Got, exchange: Exchange): void {
  if (conn instanceof H2Lease) {
    sendOnStream(conn, { method: call.method, authority: call.authority, path: call.path, headers: call.headers.list, body: call.body }, exchange)
    return
  }
  conn.client.dispatch(
    {
      path: call.path,
      method: call.method,
      headers: call.headers.list,
      body: call.body.body as Buffer | null,
      reset: call.headers.reset,
      blocking: false,
    },
    exchange,
  )
}
