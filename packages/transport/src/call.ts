import { callTrace, type CallSignal, type RequestContext } from '@roundtrip/core'
import { tagBodyErrors } from './errors-map.js'
import { retryPolicy, type RetryPolicy } from './exchange.js'
import { outgoingHeaders, type OutgoingHeaders } from './headers.js'
import type { ResolvedOptions } from './options.js'
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
