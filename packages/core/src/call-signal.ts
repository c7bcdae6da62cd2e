import { shared } from './internal.js'
import { rethrowLater } from './rethrow.js'

/**
 * CallSignal is what aborts one call: the part of `AbortSignal` a
 * RoundTripper uses (`aborted`, `reason`, one-shot `abort` listeners). A real
 * `AbortSignal` is one; so is the signal of a {@link CallAbortController},
 * which costs a small object instead of an `AbortSignal` (on Node 20 making
 * one is as expensive as a middleware layer should be as a whole).
 */
export interface CallSignal {
  /** Whether the call was aborted. */
  readonly aborted: boolean
  /** Why, once aborted (the rejection a RoundTripper gives). */
  readonly reason: unknown
  /** Calls `listener` once when the call aborts (not if it already has). */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: 'abort', listener: () => void): void
  /** Throws `reason` when aborted. */
  throwIfAborted(): void
}

/** The class of {@link neverAborted} (one instance, shared). */
class NeverAborted implements CallSignal {
  readonly aborted = false
  readonly reason = undefined
  addEventListener(): void {}
  removeEventListener(): void {}
  throwIfAborted(): void {}
}

/**
 * neverAborted is the call signal of a call that nothing can abort: never
 * aborted, no reason, and its `addEventListener` keeps nothing. It is what
 * `callSignal(request)` answers for a request declared with
 * {@link withUnabortableSignal} (createFetch's, when the caller passed no
 * `signal`) while no layer attached a signal of its own; a
 * {@link CallAbortController} over it (a `timeout()` deadline) still aborts on
 * its own. One object, shared by every installed copy of core: compare with
 * {@link neverAborts} to skip making a listener that would never be called.
 */
export const neverAborted: CallSignal = shared('@roundtrip/core.neverAborted.v1', () => Object.freeze(new NeverAborted()))

/**
 * neverAborts says whether `signal` is {@link neverAborted}: nothing can
 * abort the call, so an abort listener would never be called. The Transport
 * and core's {@link CallAbortController} check it before making one. False
 * for any other signal, an already aborted one included.
 */
export function neverAborts(signal: CallSignal): boolean {
  return signal === neverAborted
}

// The declaration lives on the request, in a slot keyed by a registered
// symbol (shared by installed copies of core, like the call hooks): one
// property write, where a WeakSet cost an ephemeron entry per request and
// work for every scavenge. A request that cannot take a property (frozen by
// its maker) is not declared: it is listened to as any other.
const kUnabortable: unique symbol = Symbol.for('@roundtrip/core.unabortableSignal.v1')
type Declared = { [kUnabortable]?: true }

/**
 * withUnabortableSignal declares that `request.signal` never aborts, and
 * returns `request`. It is for the code that made the request without a
 * signal (`new Request(url, init)` with no `init.signal`: nothing holds the
 * controller of its signal), as createFetch does when its caller passes no
 * `signal`. Then `callSignal(request)` is {@link neverAborted} while no
 * layer attached a signal, so the layers below and the Transport add no
 * listener to a signal that cannot fire (on Node an `AbortSignal` listener
 * costs more than the rest of a layer's work). `request.signal` itself is
 * left as it is; the declaration is a property under a registered symbol
 * (a frozen request cannot take it, and stays listened to). A request made with `deriveRequest(request, init)` keeps the
 * declaration unless `init` brings a signal; any other request built from it
 * (`new Request(request)`, `carryRequest`) does not.
 *
 * Declaring a request whose signal can abort (one given a `signal`, or made
 * from a `Request` that has one) makes those aborts go unheard: don't.
 *
 * @example
 * ```ts
 * const request = init?.signal == null ? withUnabortableSignal(new Request(url, init)) : new Request(url, init)
 * ```
 */
export function withUnabortableSignal<T extends Request>(request: T): T {
  if (Object.isExtensible(request)) (request as Declared)[kUnabortable] = true
  return request
}

/** requestSignal is what aborts `request` when no layer attached a signal: {@link neverAborted} when declared so, else `request.signal`. */
export function requestSignal(request: Request): CallSignal {
  return (request as Declared)[kUnabortable] === true ? neverAborted : request.signal
}

/** carryUnabortable declares `derived` when `request` is declared and `derived` follows its signal (made without a signal of its own). */
export function carryUnabortable(request: Request, derived: Request): void {
  if ((request as Declared)[kUnabortable] === true) withUnabortableSignal(derived)
}

/**
 * CallAbortController is an abort controller for a call, whose signal also
 * aborts — with the parent's reason — when `parent` does (the signal in effect
 * for the call so far: `callSignal(request)`). Its signal listens to the
 * parent only while it has listeners of its own, so a deadline that never
 * passes costs no `AbortSignal` and no listener on the caller's signal beyond
 * the one the layer below adds anyway.
 *
 * @example
 * ```ts
 * const controller = new CallAbortController(callSignal(request))
 * const timer = setTimeout(() => controller.abort(new DOMException('deadline', 'TimeoutError')), ms)
 * const detach = attachHooks(request, { signal: controller.signal })
 * ```
 */
export class CallAbortController implements CallSignal {
  readonly #parent: CallSignal
  #aborted = false
  #reason: unknown
  /** The abort listeners: one function, or an array once there are two (a call usually has one: the Transport's). */
  #listeners: (() => void) | Array<() => void> | undefined
  #onParentAbort: (() => void) | undefined

  constructor(parent: CallSignal) {
    this.#parent = parent
  }

  /**
   * The controller's signal (the controller itself: one object per call).
   * So the controller is also a `CallHooks` object whose one hook is its
   * signal: `attachHooks(request, controller)` needs no object of its own.
   */
  get signal(): CallSignal {
    return this
  }

  get aborted(): boolean {
    return this.#aborted || this.#parent.aborted
  }

  get reason(): unknown {
    if (this.#aborted) return this.#reason
    return this.#parent.aborted ? this.#parent.reason : undefined
  }

  /** Aborts the signal with `reason` (an `AbortError` DOMException by default); nothing when it already is. */
  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#fire()
  }

  addEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort' || this.aborted) return
    const listeners = this.#listeners
    // No array for the first: `[]` then a push allocates room for 17.
    if (listeners === undefined) this.#listeners = listener
    else if (typeof listeners === 'function') this.#listeners = [listeners, listener]
    else listeners.push(listener)
    // A parent that never aborts is not listened to: no bound function, no call.
    if (this.#onParentAbort === undefined && this.#parent !== neverAborted) {
      // Bound, not a literal assigned to a field: V8 allocates those in the old generation (issue 21).
      this.#onParentAbort = this.#fire.bind(this)
      this.#parent.addEventListener('abort', this.#onParentAbort, { once: true })
    }
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const listeners = this.#listeners
    if (type !== 'abort' || listeners === undefined) return
    if (listeners === listener) this.#listeners = undefined
    else if (typeof listeners !== 'function') {
      const i = listeners.indexOf(listener)
      if (i < 0) return
      // Not splice: it builds an array of what it removed.
      for (let j = i + 1; j < listeners.length; j++) listeners[j - 1] = listeners[j]!
      listeners.pop()
      if (listeners.length > 0) return
      this.#listeners = undefined
    }
    if (this.#listeners === undefined) this.#unlistenParent()
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  #unlistenParent(): void {
    if (this.#onParentAbort === undefined) return
    this.#parent.removeEventListener('abort', this.#onParentAbort)
    this.#onParentAbort = undefined
  }

  #fire(): void {
    const listeners = this.#listeners
    this.#listeners = undefined
    this.#unlistenParent()
    if (listeners === undefined) return
    if (typeof listeners === 'function') return callListener(listeners)
    for (const listener of listeners) callListener(listener)
  }
}

/** Calls an abort listener as an EventTarget does: one that throws neither stops the others nor reaches the one who aborted. */
function callListener(listener: () => void): void {
  try {
    listener()
  } catch (error) {
    rethrowLater(error)
  }
}
