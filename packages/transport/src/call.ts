import { callTrace, type CallSignal, type RequestContext } from '@roundtrip/core'
import { tagBodyErrors } from './errors-map.js'
import { retryPolicy, type Exchange, type RetryPolicy } from './exchange.js'
import { H2Lease, sendOnStream } from './h2-stream.js'
import type { Got } from './waiter.js'
import { outgoingHeaders, type OutgoingHeaders } from './headers.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import type { OutgoingBody } from './request-body.js'
import type { ClientTrace } from './trace.js'

/** Call is one roundTrip on its way: what it sends, and how it settles. */
export interface Call {
  request: Request
  pool: HostPool
  /** The request-target: origin-form, or absolute-form through a forwarding proxy. */
  path: string
  /** `METHOD url` with credentials removed, for messages. */
  what: string
  /** `host[:port]` as the URL writes it (HTTP/2's `:authority`). */
  authority: string
  /** How many times the call was sent again after an HTTP/2 server refused it unprocessed (bounded). */
  replays: number
  body: OutgoingBody
  retry: RetryPolicy
  /** What aborts the call: core's `callSignal(request)` (the request's signal, or a layer's deadline). */
  signal: CallSignal
  /** The call's trace hooks: core's `callTrace(request)` (the context's, and those layers attached). */
  trace: ClientTrace | undefined
  headers: OutgoingHeaders
  resolve: (response: Response) => void
  reject: (error: unknown) => void
}

/**
 * requestTarget is the request-target of `href` (a serialized URL whose path
 * starts at `slash`, -1 when it has none): the path and query, or the whole
 * URL when an HTTP proxy forwards it (RFC 9112 §3.2.2); never the fragment.
 */
export function requestTarget(href: string, slash: number, forward: boolean): string {
  const hash = href.indexOf('#', slash)
  if (forward) return hash < 0 ? href : href.slice(0, hash)
  if (slash < 0) return '/'
  return hash < 0 ? href.slice(slash) : href.slice(slash, hash)
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
  const href = request.url
  const forward = pool.method.forward
  const headers = outgoingHeaders(request.headers, options, context.decompress !== false, prepared.length, context.headerNames)
  // A forwarded request names its target in `Host`: the conn is the proxy's, shared by every target.
  if (forward) pool.method.forwardHeaders(headers, href.slice(href.indexOf('//') + 2, slash))
  const streamed = prepared.body !== null && !Buffer.isBuffer(prepared.body)
  const body = streamed ? { ...prepared, body: tagBodyErrors(prepared.body as AsyncIterable<Uint8Array>, what) } : prepared
  return {
    request,
    pool,
    path: requestTarget(href, slash, forward),
    what,
    authority: href.slice(href.indexOf('//') + 2, slash < 0 ? href.length : slash),
    replays: 0,
    body,
    retry: retryPolicy(request, prepared),
    signal,
    trace: callTrace<ClientTrace>(request),
    headers,
    resolve,
    reject,
  }
}

/** sendCall writes `call` on `conn` (a stream of an HTTP/2 conn, or an HTTP/1.1 conn's undici client), answered to `exchange`. */
export function sendCall(call: Call, conn: Got, exchange: Exchange): void {
  if (conn instanceof H2Lease) {
    const { request, authority, path, headers, body } = call
    sendOnStream(conn, { method: request.method, authority, path, headers: headers.list, body }, exchange)
    return
  }
  conn.client.dispatch(
    {
      path: call.path,
      method: call.request.method,
      headers: call.headers.list,
      body: call.body.body as Buffer | null,
      reset: call.headers.reset,
      blocking: false,
    },
    exchange,
  )
}
