import {
  attachHooks,
  CallAbortController,
  DEFAULT_BODY_HIGH_WATER_MARK,
  discardResponse,
  isBodyComplete,
  isNullBodyStatus,
  neverAborted,
  rethrowLater,
  systemCause,
  tryRoundTrip,
  type CallHooks,
  type RoundTripper,
} from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import { requestFromDispatch, type DispatchInput } from './dispatch-request.js'
import { DispatchControl, handlerSink, type HandlerKind, type HandlerSink } from './dispatch-handler.js'
import { responseTrailers } from './from-dispatcher.js'
import type { Waiting, WaitingList } from './waiting.js'

function noop(): void {}

/** One read of a body: a chunk, or the end. */
type Chunk = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array | undefined }

/** A chunk as undici's handlers take it: a Buffer (a view, not a copy). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * Bodies up to this many bytes (by their `content-length`) are read whole
 * and handed on as one chunk: the RoundTripper buffers that much anyway (the
 * Transport's default high-water mark), and a stream costs as much as the
 * rest of a small exchange.
 */
const SMALL_BODY = DEFAULT_BODY_HIGH_WATER_MARK

function small(response: Response): boolean {
  const length = response.headers.get('content-length')
  if (length === null) return false
  const n = Number(length)
  return Number.isInteger(n) && n >= 0 && n <= SMALL_BODY
}

/** The read of a body taken whole: one chunk (none when empty), then the end. */
function wholeChunk(buffer: ArrayBuffer): Chunk {
  return buffer.byteLength === 0 ? { done: true, value: undefined } : { done: false, value: new Uint8Array(buffer) }
}

const END: Promise<Chunk> = Promise.resolve({ done: true, value: undefined })

/**
 * The call's hooks (core's `attachHooks`): its abort, which is its signal,
 * and the dispatcher's trace for the dispatch. One object per dispatch.
 */
class BridgedCall extends CallAbortController {
  readonly trace: object | undefined

  constructor(trace: object | undefined) {
    super(neverAborted)
    this.trace = trace
  }
}

/**
 * BridgedDispatch is one `dispatch()` run through a RoundTripper, and the
 * controller its handler pauses, resumes and aborts.
 *
 * States: `waiting` (the RoundTripper has not answered) → `streaming` (the
 * head was handed on; the body is read as the handler takes it) → `done`
 * (ended, failed or aborted; the handler has heard its last call). Every
 * path to `done` goes through {@link BridgedDispatch.settle}, so the handler
 * hears exactly one of `end` or `error`.
 */
export class BridgedDispatch extends DispatchControl implements Waiting {
  readonly #sink: HandlerSink
  // The dispatcher's dispatches waiting for their head; this one leaves it at its head or its end.
  readonly #waiting: WaitingList
  /** Its place in the dispatcher's list of waiting dispatches (Waiting). */
  slot = -1
  // What aborts the call: handed to the RoundTripper as the request's call signal (core's call hooks), set in run().
  #callAbort: BridgedCall | undefined
  #state: 'waiting' | 'streaming' | 'done' = 'waiting'
  // Held while streaming: the response must live as long as the handler reads it.
  #response: Response | undefined
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  // A small body, read whole at once and handed on when the handler wants data; then the end.
  #whole: Promise<Chunk> | undefined
  // Whether there is a body to hand on (a stream reader's, or the whole of a small one).
  #hasBody = false
  #reading = false
  // What a read's settlement calls: made once per dispatch (by functions, see #chunkTaker), not per chunk.
  #onChunk: ((result: Chunk) => void) | undefined
  #onReadError: ((error: unknown) => void) | undefined
  #method = 'GET'

  /** `handler` is of generation `kind` (see handlerKind); `waiting` is the dispatcher's list of dispatches waiting for their head. */
  constructor(handler: Dispatcher.DispatchHandler, kind: HandlerKind, waiting: WaitingList) {
    super()
    this.#sink = handlerSink(handler, kind, this)
    this.#waiting = waiting
  }

  override abort(reason?: Error): void {
    if (this.#state !== 'done') super.abort(reason)
  }

  protected override resumed(): void {
    this.#pump()
  }

  protected override aborting(reason: Error): void {
    // Before the head, the RoundTripper rejects with this reason; after, the body is cancelled with it.
    this.#callAbort?.abort(reason)
    this.#reader?.cancel(reason).catch(noop)
    this.settle(reason)
  }

  /** Fails the dispatch before it started (closed dispatcher, upgrade): the handler hears only the error, as from undici. */
  refuse(error: Error): void {
    this.settle(error)
  }

  /** run sends the dispatch through `roundTripper`, with `trace` (the dispatcher's for it) attached to its Request. */
  run(roundTripper: RoundTripper, options: DispatchInput, trace: object | undefined): void {
    let request: Request
    try {
      request = requestFromDispatch(options)
      this.#method = request.method
    } catch (error) {
      this.settle(error)
      return
    }
    try {
      this.#sink.start()
    } catch (error) {
      this.abort(error as Error)
      rethrowLater(error)
      return
    }
    if (this.#state !== 'waiting') return
    // The dispatch's abort reaches the RoundTripper as the call's signal, not
    // as a Request that follows an AbortSignal: on Node 20 building those two
    // cost as much as the rest of a small bridged exchange. The request is
    // ours alone, so its hooks stay attached for its life.
    this.#callAbort = new BridgedCall(trace)
    // The controller is its own hooks object (it carries its signal, and the trace).
    attachHooks(request, this.#callAbort as CallHooks)
    tryRoundTrip(roundTripper, request).then(
      (response) => this.#respond(response),
      // As from Node's own dispatcher: the system or undici error under a coded one (see systemCause).
      (error: unknown) => this.settle(systemCause(error)),
    )
  }

  #respond(response: Response): void {
    if (this.#state !== 'waiting') {
      // Aborted while the RoundTripper was answering: the body is ours to release.
      discardResponse(response, this.reason)
      return
    }
    this.#state = 'streaming'
    this.#waiting.delete(this)
    // Decided without touching `response.body`, which would make a stream the small path avoids.
    if (this.#method !== 'HEAD' && !isNullBodyStatus(response.status)) {
      this.#response = response
      // A body already all here (a chunked one that came with its head) is taken whole too: its end is then told with its data.
      if (isBodyComplete(response) || small(response)) {
        this.#whole = response.arrayBuffer().then(wholeChunk)
        // Read at once, but taken only when the handler wants data: a failure meanwhile is reported then, not as unhandled.
        this.#whole.catch(noop)
        this.#hasBody = true
      } else if (response.body !== null) {
        this.#reader = response.body.getReader()
        this.#hasBody = true
      }
    }
    try {
      this.#sink.head(response.status, response.headers, response.statusText)
    } catch (error) {
      // As undici's Request: what the handler threw fails the dispatch (its onError hears it) and is not thrown again.
      this.abort(error as Error)
      return
    }
    if (!this.#hasBody) this.settle(undefined)
    else this.#pump()
  }

  #pump(): void {
    if (this.#reading || this.paused || this.#state !== 'streaming' || !this.#hasBody) return
    this.#reading = true
    this.#onChunk ??= BridgedDispatch.#chunkTaker(this)
    this.#onReadError ??= BridgedDispatch.#readFailer(this)
    this.#read().then(this.#onChunk, this.#onReadError)
  }

  /** The next read of the body: the small body whole (once), then the end; or the stream reader's next chunk. */
  #read(): Promise<Chunk> {
    const whole = this.#whole
    if (whole !== undefined) {
      this.#whole = undefined
      return whole
    }
    return this.#reader?.read() ?? END
  }

  static #chunkTaker(call: BridgedDispatch): (result: Chunk) => void {
    return (result) => call.#take(result)
  }

  static #readFailer(call: BridgedDispatch): (error: unknown) => void {
    return (error) => {
      call.#reading = false
      call.settle(systemCause(error))
    }
  }

  #take(result: Chunk): void {
    this.#reading = false
    if (this.#state !== 'streaming') return
    if (result.done) {
      this.settle(undefined)
      return
    }
    try {
      this.#sink.data(asBuffer(result.value))
    } catch (error) {
      this.abort(error as Error)
      return
    }
    // A small body taken whole was all of it: the end is told now, with its data, as undici's parser tells a
    // response that came in one read. A read of the end a turn later would leave a window in which the handler
    // aborts a response it has whole (Node's fetch does, to send a request again on a 421) and hears onError.
    if (this.#reader === undefined && this.#whole === undefined && !this.paused && this.#state === 'streaming') this.settle(undefined)
    else this.#pump()
  }

  /** settle ends the dispatch once: `error` undefined is a complete response, anything else a failure. */
  settle(error: unknown): void {
    if (this.#state === 'done') return
    const headSent = this.#state === 'streaming'
    this.#state = 'done'
    if (!headSent) this.#waiting.delete(this)
    const response = this.#response
    this.#response = undefined
    this.#reader = undefined
    this.#whole = undefined
    this.#hasBody = false
    try {
      if (error === undefined) this.#sink.end(response === undefined ? undefined : responseTrailers(response))
      else this.#sink.error(error instanceof Error ? error : new Error(String(error), { cause: error }))
    } catch (thrown) {
      // As undici's Request: what the end call throws goes to the handler's error call (undici's retry() interceptor
      // throws there to retry a 500), thrown again only if that throws too, or if the error call threw.
      if (error !== undefined) return rethrowLater(thrown)
      try {
        this.#sink.error(thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown }))
      } catch (again) {
        rethrowLater(again)
      }
    }
  }
}
