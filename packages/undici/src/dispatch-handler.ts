import { errors, type Dispatcher } from 'undici'
import { BridgeError, ERR_INVALID_ARGUMENT } from './errors.js'
import { headerRecord, rawHeaderRecord, rawHeaders } from './headers.js'

/**
 * HandlerSink is one of undici's two handler generations seen through one
 * interface, so that the bridge drives both the same way: undici 7's
 * (`onRequestStart`, `onResponseStart`, `onResponseData`, `onResponseEnd`,
 * `onResponseError`, with a controller to pause, resume and abort) and the
 * legacy one that Node 20's bundled fetch and `undici.request` use
 * (`onConnect`, `onHeaders` returning false to pause and handing a `resume`
 * callback, `onData`, `onComplete`, `onError`).
 */
export interface HandlerSink {
  start(): void
  /** Returns false when the handler asked to pause. */
  head(status: number, headers: Headers, statusText: string): void
  data(chunk: Buffer): void
  end(trailers: Headers | undefined): void
  error(error: Error): void
}

/** Controller is the pause/resume/abort side of one dispatch, shared by both generations. */
export interface Controller extends Dispatcher.DispatchController {
  /** Called by the legacy `resume` callback. */
  resume(): void
}

type AnyHandler = Dispatcher.DispatchHandler

/** Which of undici's two handler generations a handler speaks. */
export type HandlerKind = 'modern' | 'legacy'

/**
 * DispatchControl is the pause/resume/abort state every controller of the
 * bridge keeps (a bridged dispatch, the legacy facade of an undici 7
 * handler): subclasses say what resuming and aborting do.
 */
export abstract class DispatchControl implements Controller {
  #paused = false
  #aborted = false
  #reason: Error | null = null

  get aborted(): boolean {
    return this.#aborted
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#reason
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.resumed()
  }

  /** abort aborts once, with `reason` (undici's `RequestAbortedError` by default); what that does is the subclass's {@link aborting}. */
  abort(reason?: Error): void {
    if (this.#aborted) return
    this.#aborted = true
    const error = reason ?? new errors.RequestAbortedError()
    this.#reason = error
    this.aborting(error)
  }

  /** The handler asked for more (its controller's or the legacy `resume`). */
  protected abstract resumed(): void
  /** The handler (or the dispatcher) aborted with `reason`. */
  protected abstract aborting(reason: Error): void
}

function modern(handler: AnyHandler, controller: Controller): HandlerSink {
  return {
    start: () => handler.onRequestStart?.(controller, {}),
    head: (status, headers, statusText) => handler.onResponseStart?.(controller, status, headerRecord(headers), statusText),
    data: (chunk) => handler.onResponseData?.(controller, chunk),
    end: (trailers) => handler.onResponseEnd?.(controller, trailers === undefined ? {} : headerRecord(trailers)),
    error: (error) => handler.onResponseError?.(controller, error),
  }
}

function legacy(handler: AnyHandler, controller: Controller): HandlerSink {
  const resume = (): void => controller.resume()
  return {
    start: () => handler.onConnect?.((reason?: Error) => controller.abort(reason as Error)),
    head(status, headers, statusText) {
      handler.onResponseStarted?.()
      if (handler.onHeaders?.(status, rawHeaders(headers), resume, statusText) === false) controller.pause()
    },
    data(chunk) {
      if (handler.onData?.(chunk) === false) controller.pause()
    },
    end: (trailers) => handler.onComplete?.(trailers === undefined ? [] : (rawHeaders(trailers) as unknown as string[])),
    error: (error) => handler.onError?.(error),
  }
}

/**
 * handlerKind tells which generation `handler` speaks: undici 7's when it
 * has `onRequestStart` (as undici decides it), the legacy one otherwise.
 *
 * @throws BridgeError `RT_INVALID_ARGUMENT` when it is not an object, or has no way to be told of an error.
 */
export function handlerKind(handler: AnyHandler): HandlerKind {
  if (typeof handler !== 'object' || handler === null) {
    throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: dispatch() needs a handler object')
  }
  if (typeof handler.onRequestStart === 'function') {
    if (typeof handler.onResponseError !== 'function') {
      throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: the handler has onRequestStart but no onResponseError')
    }
    return 'modern'
  }
  if (typeof handler.onError !== 'function') {
    throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: the handler has neither onResponseError nor onError')
  }
  return 'legacy'
}

/** handlerSink adapts `handler`, of generation `kind` (see {@link handlerKind}), to a {@link HandlerSink}. */
export function handlerSink(handler: AnyHandler, kind: HandlerKind, controller: Controller): HandlerSink {
  return kind === 'modern' ? modern(handler, controller) : legacy(handler, controller)
}

/**
 * LegacyFacade shows a handler of undici 7's generation to something that
 * speaks only the legacy one (the Transport's direct dispatch, core's
 * `undiciDispatch`), as undici's own `UnwrapHandler` does for its Client: it
 * is that handler's controller, and turns `pause()` into `onHeaders` /
 * `onData` returning false and `resume()` into the legacy `resume` callback.
 */
export class LegacyFacade extends DispatchControl {
  readonly #handler: AnyHandler
  #abort: ((reason?: Error) => void) | undefined
  #resume: (() => void) | undefined

  constructor(handler: AnyHandler) {
    super()
    this.#handler = handler
  }

  protected override resumed(): void {
    this.#resume?.()
  }

  protected override aborting(reason: Error): void {
    this.#abort?.(reason)
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort
    this.#handler.onRequestStart?.(this, {})
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    this.#resume = resume
    this.#handler.onResponseStart?.(this, status, rawHeaderRecord(raw), statusText)
    return !this.paused
  }

  onData(chunk: Buffer): boolean {
    this.#handler.onResponseData?.(this, chunk)
    return !this.paused
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    this.#handler.onResponseEnd?.(this, rawHeaderRecord(trailers ?? []))
  }

  onError(error: Error): void {
    this.#handler.onResponseError?.(this, error)
  }
}
