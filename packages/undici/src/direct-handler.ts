import { systemCause } from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import type { Waiting, WaitingList } from './waiting.js'

/** The progress hooks as undici's Client calls them (its types say otherwise for onBodySent). */
export interface SentHooks {
  onRequestSent?(): void
  onBodySent?(chunk: unknown): void
}

/**
 * DirectHandler stands between a RoundTripper's own undici entry point
 * (core's `undiciDispatch`, the Transport's direct path) and the caller's
 * legacy handler, so that the dispatcher can fail the dispatch while it waits
 * for its response head, as it does a bridged one: it remembers the abort
 * handed to `onConnect` and stays in `waiting` until a final head (status
 * 200 or more), the end or an error. Streaming responses are not kept, so an
 * abandoned one stays collectable. Everything is handed on unchanged, but an
 * error: the system or undici error under a coded one (core's `systemCause`).
 */
export class DirectHandler implements Waiting {
  readonly #handler: Dispatcher.DispatchHandler
  readonly #waiting: WaitingList
  /** Its place in the dispatcher's list of waiting dispatches (Waiting). */
  slot = -1
  #abort: ((reason?: Error) => void) | undefined

  constructor(handler: Dispatcher.DispatchHandler, waiting: WaitingList) {
    this.#handler = handler
    this.#waiting = waiting
  }

  /** abort fails the dispatch with `reason` (the handler's onError hears it), if it still waits for its head. */
  abort(reason: Error): void {
    if (this.#waiting.delete(this)) this.#abort?.(reason)
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort
    this.#handler.onConnect?.(abort)
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.()
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 200 && this.slot >= 0) {
      this.#waiting.delete(this)
      this.#abort = undefined
    }
    return this.#handler.onHeaders?.(statusCode, rawHeaders, resume, statusText) !== false
  }

  onData(chunk: Buffer): boolean {
    return this.#handler.onData?.(chunk) !== false
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    // Left at its head already, as a rule: no call to leave again.
    if (this.slot >= 0) this.#leave()
    this.#handler.onComplete?.(trailers as string[] | null)
  }

  onError(error: Error): void {
    this.#leave()
    // As from Node's own dispatcher: the system or undici error under the Transport's coded one (see systemCause).
    this.#handler.onError?.(systemCause(error) as Error)
  }

  #leave(): void {
    this.#waiting.delete(this)
    this.#abort = undefined
  }
}

/**
 * SentDirectHandler is a {@link DirectHandler} for a handler that listens
 * for its request being written (`onRequestSent`, `onBodySent`, as
 * `undici.request`'s may): a DirectHandler has no such hooks, so that
 * nothing is called for each dispatch of a handler without them (Node's
 * fetch).
 */
export class SentDirectHandler extends DirectHandler {
  readonly #sent: SentHooks

  constructor(handler: Dispatcher.DispatchHandler, waiting: WaitingList) {
    super(handler, waiting)
    this.#sent = handler as SentHooks
  }

  onRequestSent(): void {
    this.#sent.onRequestSent?.()
  }

  onBodySent(chunk: unknown): void {
    this.#sent.onBodySent?.(chunk)
  }
}

