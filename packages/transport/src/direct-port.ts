import { systemCause, type UndiciWaitingList } from '@roundtrip/core'
import type { Acquirer } from './acquirer.js'
import { requestTarget } from './call.js'
import { preciseStages, stageLimits, type StageLimits } from './deadlines.js'
import { DirectDispatch } from './direct-dispatch.js'
import { dispatchHeaders, directBody, NO_BODY, type DirectInput, type DirectRequest, type LegacyHandler } from './dispatch-input.js'
import type { OutgoingHeaders } from './headers.js'
import { ERR_TRANSPORT_CLOSED, requestLabel, TransportError } from './errors.js'
import type { HostPool } from './pool.js'
import type { PoolHost } from './pool-policy.js'
import type { ResolvedOptions } from './resolve-options.js'
import { policyOf } from './retry-policy.js'
import type { Routes } from './route.js'
import type { ClientTrace } from './trace.js'

// The undici fast path (core's `UndiciDispatchable`): an undici dispatch
// (Node's fetch, `undici.request`, through `@roundtrip/undici`) runs on a
// conn of the Transport's pool with no WHATWG Request or Response in
// between. The conn is leased as for a roundTrip (same pool, limits, queue,
// maxWaitTime, proxy, dial, stats, trace); the dispatch goes to the conn's
// undici Client (HTTP/1.1), or on a stream of its session (HTTP/2, through
// the H2Lease an Exchange uses), with a DirectDispatch as the handler, which
// hands everything on to the caller's handler and gives the conn (or the
// stream) back to the pool at the end. What it uses of the Transport is the
// DirectPort below.

/** CONNECT (a tunnel, not a request), and the methods a WHATWG Request refuses: left to the Request path. */
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

/**
 * DirectPort is the Transport's undici entry point (its `[undiciDispatch]`
 * calls {@link dispatch}) and what a {@link DirectDispatch} uses of its
 * Transport: one per Transport, made with it, kept off the public surface
 * (and the published `.d.ts`). It holds what every dispatch reads (the
 * options, which of their stages have a precise deadline) as fields, read
 * once; whether the Transport is closed, the pool policy (pool-policy.ts)
 * and release and discard go through {@link host}, and getting a conn
 * through the Transport.
 */
export class DirectPort {
  /** The Transport's pool host (pool-policy.ts's release and discard take it). */
  readonly host: PoolHost
  /** The Transport's options. */
  readonly options: ResolvedOptions
  /** Which stages of {@link options} have a limit under 1 s (deadlines.ts's `PRECISE_HEAD`, `PRECISE_BODY`), read once. */
  readonly precise: number
  /**
   * acquire (the Transport's `send`) gets `acquirer` a conn and calls its
   * `send` with it (now, at the end of the turn, or once one is dialed or
   * freed), or its `fail` (see acquirer.ts); `resent`: sent again after its
   * conn failed under it.
   */
  readonly acquire: (acquirer: Acquirer, resent: boolean) => void
  readonly #routes: Routes

  constructor(host: PoolHost, routes: Routes, acquire: (acquirer: Acquirer, resent: boolean) => void) {
    this.host = host
    this.options = host.options
    this.precise = preciseStages(host.options)
    this.#routes = routes
    this.acquire = acquire
  }

  /**
   * dispatch runs undici dispatch `input` for `handler` on the Transport's
   * pool, and returns true; or returns false without touching `handler`
   * when the dispatch is not one for this path (see the Transport's
   * `[undiciDispatch]`). Given `waiting` (a dispatcher's), the dispatch is
   * in it while it waits for its head, and fails as a dispatcher's does
   * (core's `systemCause`).
   */
  dispatch(input: DirectInput, handler: LegacyHandler, trace: ClientTrace | undefined, waiting: UndiciWaitingList | undefined): boolean {
    // The cheap refusals first; the message, body and headers once the pool is known.
    if (typeof handler !== 'object' || handler === null || typeof handler.onError !== 'function' || typeof handler.onRequestStart === 'function') return false
    const method = input.method
    const path = input.path
    if (typeof method !== 'string' || REFUSED_METHODS.has(method) || typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) return false
    if (input.upgrade !== undefined && input.upgrade !== null && input.upgrade !== false) return false
    const raw = input.body
    // What roundTrip cannot take either is left to the Request path, which refuses it: a bare Transport and a stack behave alike.
    if (raw !== undefined && raw !== null && (method === 'GET' || method === 'HEAD')) return false
    const given = input.origin
    // The origin without a trailing slash (a string as given, read here: it is one for every dispatch of Node's fetch).
    const origin = typeof given === 'string' ? (given.charCodeAt(given.length - 1) === 47 ? given.slice(0, -1) : given) : originOf(given)
    if (origin === undefined) return false
    const href = origin + path
    if (this.host.closed()) {
      refuse(handler, new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${requestLabel(method, href)})`), waiting)
      return true
    }
    let pool: HostPool
    try {
      pool = this.#routes.route(origin, href, method)
    } catch (error) {
      refuse(handler, error as Error, waiting)
      return true
    }
    // undici's `query` (which Node's fetch never sets) is serialized by its HTTP/1.1 Client only: on HTTP/2 it takes the Request path.
    const http1 = pool.protocol === 'http1'
    if (!http1 && input.query !== undefined && input.query !== null) return false
    const body = raw === undefined || raw === null ? NO_BODY : directBody(raw, method, href)
    if (body === undefined) return false
    let headers: OutgoingHeaders
    // The dispatch's own header and body limits (Node's fetch never gives any): undici's InvalidArgumentError for a bad one, as from undici's Client.
    let limits: StageLimits | undefined
    try {
      headers = dispatchHeaders(input.headers, this.options)
      const head = input.headersTimeout
      const tail = input.bodyTimeout
      if ((head !== undefined && head !== null) || (tail !== undefined && tail !== null)) limits = stageLimits(head, tail)
    } catch (error) {
      handler.onError!(error as Error)
      return true
    }
    // Found in the origin, not in `href`: reading a joined string makes a flat copy of it.
    const authority = origin.indexOf('//') + 2
    const inOrigin = origin.indexOf('/', authority)
    const slash = inOrigin === -1 ? origin.length : inOrigin
    const forward = pool.method.forward
    if (forward) pool.method.forwardHeaders(headers, origin.slice(authority, slash))
    // The Request path's `stale` retry policy (retry-policy.ts).
    const retry = policyOf(method, body.replayable && headers.keyed, body.replayable)
    const request: DirectRequest = {
      // The path as given, when it is the whole origin-form target.
      path: forward || slash !== origin.length || path.includes('#') ? requestTarget(href, slash, forward) : path,
      method,
      headers: headers.list,
      body: body.body,
      query: input.query,
      reset: headers.reset || input.reset === true,
      blocking: false,
    }
    // `:authority` for an HTTP/2 stream (a pool that may turn out HTTP/2 too).
    const h2Authority = http1 ? '' : origin.slice(authority, slash)
    new DirectDispatch(this, handler, pool, href, request, retry, h2Authority, trace, waiting, limits).start()
    return true
  }
}

/** refuse fails a dispatch before it started (it never joins `waiting`), with `error` as a dispatcher's would be given `waiting` (core's systemCause). */
function refuse(handler: LegacyHandler, error: Error, waiting: UndiciWaitingList | undefined): void {
  handler.onError!(waiting === undefined ? error : (systemCause(error) as Error))
}

/** The origin of a dispatch whose origin is not a string, or undefined when it is not a URL either. */
function originOf(raw: unknown): string | undefined {
  return raw instanceof URL ? raw.origin : undefined
}
