import type { RequestContext } from '@roundtrip/core'
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
  body: OutgoingBody
  retry: RetryPolicy
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
    body,
    retry: retryPolicy(request, prepared),
    trace: context.trace,
    headers,
    resolve,
    reject,
  }
}
