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
  #listeners: Array<() => void> | undefined
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
    ;(this.#listeners ??= []).push(listener)
    if (this.#onParentAbort === undefined) {
      // Bound, not a literal assigned to a field: V8 allocates those in the old generation (issue 21).
      this.#onParentAbort = this.#fire.bind(this)
      this.#parent.addEventListener('abort', this.#onParentAbort, { once: true })
    }
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const listeners = this.#listeners
    if (type !== 'abort' || listeners === undefined) return
    const i = listeners.indexOf(listener)
    if (i >= 0) listeners.splice(i, 1)
    if (listeners.length === 0) this.#unlistenParent()
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
    // As an EventTarget does: a throwing listener neither stops the others nor reaches the one who aborted.
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        rethrowLater(error)
      }
    }
  }
}
