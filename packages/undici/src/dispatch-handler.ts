import type { Dispatcher } from 'undici'
import { BridgeError, ERR_INVALID_ARGUMENT } from './errors.js'
import { headerRecord, rawHeaders } from './headers.js'

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
 * handlerSink adapts `handler` to a {@link HandlerSink}: undici 7's
 * interface when it has `onRequestStart` (as undici decides it), the legacy
 * one otherwise.
 *
 * @throws BridgeError `RT_INVALID_ARGUMENT` when the handler has no way to be told of an error.
 */
export function handlerSink(handler: AnyHandler, controller: Controller): HandlerSink {
  if (typeof handler !== 'object' || handler === null) {
    throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: dispatch() needs a handler object')
  }
  if (typeof handler.onRequestStart === 'function') {
    if (typeof handler.onResponseError !== 'function') {
      throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: the handler has onRequestStart but no onResponseError')
    }
    return modern(handler, controller)
  }
  if (typeof handler.onError !== 'function') {
    throw new BridgeError(ERR_INVALID_ARGUMENT, 'toDispatcher: the handler has neither onResponseError nor onError')
  }
  return legacy(handler, controller)
}
