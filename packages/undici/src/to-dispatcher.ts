import { hasUndiciDispatch, isRoundTripper, undiciDispatch, type Closable, type RoundTripper, type UndiciDispatchable } from '@roundtrip/core'
import { Dispatcher, errors } from 'undici'
import { BridgedDispatch } from './bridged-dispatch.js'
import { handlerKind, LegacyFacade } from './dispatch-handler.js'
import { describeDispatch, type DispatchInput } from './dispatch-request.js'
import { BridgeError, ERR_DISPATCHER_CLOSED, ERR_INVALID_ARGUMENT, ERR_UPGRADE_UNSUPPORTED } from './errors.js'
import { WaitingList } from './waiting.js'

type Lifecycle = Closable & { destroy?(): void }

/** Options for {@link toDispatcher}. */
export interface ToDispatcherOptions {
  /**
   * The dispatcher that upgrades (WebSocket, `undici.upgrade`) and `CONNECT`
   * requests are handed to, since a RoundTripper cannot return a socket.
   * Undefined: they fail with `RT_UPGRADE_UNSUPPORTED`. {@link install}
   * sets it to the global dispatcher it replaces, so Node's `WebSocket`
   * keeps working. It is not closed with this dispatcher.
   */
  upgrades?: Dispatcher | undefined
  /**
   * Trace hooks for each dispatch: called with the dispatch's options, it
   * returns the hooks object for that request (for a `Transport` below, a
   * `ClientTrace` of `@roundtrip/transport`: `getConn`, `gotConn`,
   * `connectStart`, `wroteRequest`, `gotFirstResponseByte`, `putIdleConn`,
   * …), or undefined for none. Node's fetch and `undici.request` carry no
   * request context a trace could ride on, so this is where one is given.
   * The hooks are the same whichever path the dispatch takes: a bare
   * Transport's direct path calls them, and the `Request` path attaches them
   * to the call (core's `attachHooks`), where every layer's `callTrace` sees
   * them. It is not called for an upgrade or `CONNECT` (handed to
   * `upgrades` or refused), nor after `close()`. Undefined: no trace.
   */
  trace?: ((options: Dispatcher.DispatchOptions) => object | undefined) | undefined
}

/**
 * RoundTripperDispatcher is an undici `Dispatcher` that runs every dispatch
 * through a RoundTripper; make one with {@link toDispatcher}.
 */
export class RoundTripperDispatcher extends Dispatcher {
  /** The RoundTripper requests go through. */
  readonly roundTripper: RoundTripper
  #closed = false
  // Dispatches whose response head has not arrived yet, on either path; destroy() fails them.
  // Streaming ones are not kept: an abandoned response must stay collectable. A RoundTripper's own dispatches join it themselves (core's undiciDispatch).
  readonly #waiting = new WaitingList()
  readonly #upgrades: Dispatcher | undefined
  readonly #trace: ((options: Dispatcher.DispatchOptions) => object | undefined) | undefined
  // The RoundTripper's own undici entry point (core's undiciDispatch), when it offers one: the Transport itself, not a stack.
  readonly #direct: UndiciDispatchable | undefined

  constructor(roundTripper: RoundTripper, options: ToDispatcherOptions = {}) {
    super()
    if (!isRoundTripper(roundTripper)) {
      throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: expected a RoundTripper (an object with a roundTrip method)')
    }
    const upgrades = options.upgrades
    if (upgrades !== undefined && typeof (upgrades as { dispatch?: unknown } | null)?.dispatch !== 'function') {
      throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: options.upgrades must be an undici Dispatcher')
    }
    const trace = options.trace
    if (trace !== undefined && typeof trace !== 'function') {
      throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: options.trace must be a function returning the trace hooks of a dispatch')
    }
    this.#trace = trace
    this.roundTripper = roundTripper
    this.#upgrades = upgrades
    this.#direct = hasUndiciDispatch(roundTripper) ? roundTripper : undefined
    // undici's compose() hands back a Proxy of this dispatcher: its close() and destroy() would run with the Proxy as `this`,
    // where no private field is found (TypeError). Bound here, they are found on the instance through the Proxy. (dispatch is bound by compose.)
    this.close = this.close.bind(this)
    this.destroy = this.destroy.bind(this)
  }

  /**
   * dispatch runs one request through the RoundTripper and tells `handler`
   * what happens, in either of undici's handler generations. Returns true
   * (the RoundTripper queues on its own; this dispatcher is never busy).
   */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // handlerKind throws for a handler it cannot report to.
    const kind = handlerKind(handler)
    const input = options as unknown as DispatchInput
    const method = input.method
    // An upgrade or CONNECT wants a socket, not a response: it goes to `upgrades` (or is refused) before the trace option is asked for hooks or any dispatch is made.
    if (!this.#closed && ((input.upgrade !== undefined && input.upgrade !== null && input.upgrade !== false) || ((typeof method !== 'string' || method.length === 7) && isConnect(method)))) {
      if (this.#upgrades !== undefined) return this.#upgrades.dispatch(options, handler)
      new BridgedDispatch(handler, kind, this.#waiting).refuse(
        new BridgeError(
          ERR_UPGRADE_UNSUPPORTED,
          `toDispatcher: cannot ${input.upgrade ? `upgrade to ${String(input.upgrade)}` : 'CONNECT'} through a RoundTripper, which returns a response, not a socket (${describeDispatch(input)}); give toDispatcher an \`upgrades\` dispatcher for WebSocket and CONNECT`,
        ),
      )
      return false
    }
    const trace = this.#trace === undefined || this.#closed ? undefined : this.#trace(options)
    // A RoundTripper that owns its conns takes the dispatch itself, without a Request or a Response; it refuses what it does not take.
    // Given the waiting list, its dispatch joins it until its head (for destroy()) and fails with a dispatcher's errors (systemCause), as a bridged one.
    const direct = this.#direct
    if (direct !== undefined && !this.#closed && direct[undiciDispatch](options, kind === 'modern' ? new LegacyFacade(handler) : handler, trace, this.#waiting)) return true
    const call = new BridgedDispatch(handler, kind, this.#waiting)
    if (this.#closed) {
      call.refuse(new BridgeError(ERR_DISPATCHER_CLOSED, `toDispatcher: the dispatcher is closed (${describeDispatch(input)})`))
      return false
    }
    this.#waiting.add(call)
    call.run(this.roundTripper, input, trace)
    return true
  }

  /**
   * close refuses new dispatches and closes the RoundTripper (`close()`, when
   * it has one), which lets responses under way finish.
   */
  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true
    const rt = this.roundTripper as Lifecycle
    const done = Promise.resolve(typeof rt.close === 'function' ? rt.close() : undefined)
    if (callback === undefined) return done
    done.then(callback, callback)
  }

  /**
   * destroy refuses new dispatches, fails those still waiting for a response
   * head with `error` (default undici's `ClientDestroyedError`), destroys the
   * RoundTripper when it has `destroy()` and closes it.
   */
  override destroy(): Promise<void>
  override destroy(error: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(error: Error | null, callback: () => void): void
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b
    const error = typeof a === 'function' || a === undefined || a === null ? new errors.ClientDestroyedError() : a
    this.#closed = true
    for (const call of this.#waiting.toArray()) call.abort(error)
    const rt = this.roundTripper as Lifecycle
    if (typeof rt.destroy === 'function') rt.destroy()
    const done = Promise.resolve(typeof rt.close === 'function' ? rt.close() : undefined)
    if (callback === undefined) return done
    done.then(callback, callback)
  }
}

/**
 * toDispatcher makes an undici `Dispatcher` (a subclass of undici's
 * `Dispatcher`) that runs every request through `roundTripper`: hand it to
 * `setGlobalDispatcher`, `fetch(url, { dispatcher })`, `undici.request(url,
 * { dispatcher })`, or use {@link install}.
 *
 * It speaks both handler generations: undici 7's (`onRequestStart`,
 * `onResponseStart`, `onResponseData`, `onResponseEnd`, `onResponseError`,
 * its controller's `pause()`/`resume()`/`abort()`) and the legacy one
 * (`onConnect`, `onHeaders` returning false to pause with a `resume`
 * callback, `onData`, `onComplete`, `onError`) that Node 20's bundled fetch
 * and `undici.request` use. The body is read from the RoundTripper's
 * response only as fast as the handler takes it; an abort cancels the
 * request or the body with the handler's reason; trailers of a response made
 * by {@link fromDispatcher} are handed on. Requests ask for the body as sent
 * (`decompress: false` in their context), since a dispatcher's callers
 * decode it themselves. Upgrades (WebSocket) and `CONNECT` go to
 * `options.upgrades`, or fail with `RT_UPGRADE_UNSUPPORTED` without one.
 * `close()` and `destroy()` close the RoundTripper.
 *
 * A dispatch's own `headersTimeout` and `bodyTimeout` (ms; 0: none of the
 * dispatch's) reach the RoundTripper on both paths (through a stack, as the
 * request context's `responseHeaderTimeout` and `bodyTimeout`); the
 * Transport applies the smaller of each and its own, and when the
 * dispatch's passes the handler hears undici's `HeadersTimeoutError` or
 * `BodyTimeoutError` (the coded error as its `roundTripError`) and the
 * connection is closed. An invalid one (negative, not a finite number) fails
 * the dispatch with undici's `InvalidArgumentError`, as undici's `Request`.
 *
 * `options.trace` gives each dispatch its trace hooks (the Transport's
 * `ClientTrace`), called alike on both paths. `dispatch()` throws
 * `RT_INVALID_ARGUMENT` for a handler it cannot report to (not an object,
 * or without `onError`/`onResponseError`), as undici does.
 *
 * @throws BridgeError `RT_INVALID_ARGUMENT` when `roundTripper` has no
 * `roundTrip` method, `options.upgrades` is not a dispatcher, or
 * `options.trace` is not a function.
 *
 * @example
 * ```ts
 * import { request } from 'undici'
 * const dispatcher = toDispatcher(compose(new Transport(), leakTracker()))
 * const { statusCode, body } = await request('http://127.0.0.1:8080/', { dispatcher })
 * ```
 */
export function toDispatcher(roundTripper: RoundTripper, options?: ToDispatcherOptions): RoundTripperDispatcher {
  return new RoundTripperDispatcher(roundTripper, options)
}

/** isConnect tells a CONNECT dispatch (the method in any case): a string of another length is turned down without upper-casing it, as every dispatch asks. */
function isConnect(method: unknown): boolean {
  if (typeof method === 'string') return method === 'CONNECT' || (method.length === 7 && method.toUpperCase() === 'CONNECT')
  return String(method).toUpperCase() === 'CONNECT'
}
