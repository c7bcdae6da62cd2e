import { RoundTripError } from './errors.js'
import { sourceByStream, type TrackedSource } from './internal.js'
import { RoundTripResponse, trackedBody, trackedSourceOf, type TrackedBody } from './response.js'

/**
 * BodyOutcome is how a response body settled:
 * - `end`: the consumer read it to the end (by any API);
 * - `cancel`: the consumer cancelled it (`body.cancel()`, a reader's
 *   `cancel()`, an aborted `pipeTo`, …);
 * - `error`: the body failed (the connection broke, a timeout fired);
 * - `collected`: the response was garbage-collected while its body was open.
 */
export type BodyOutcome = 'end' | 'cancel' | 'error' | 'collected'

/**
 * BodyObserver is told, exactly once, how a body settled. `reason` is the
 * cancel reason or the error. It may be called synchronously from the call
 * that settles the body, so it must be quick and must not throw.
 */
export type BodyObserver = (outcome: BodyOutcome, reason?: unknown) => void

/**
 * BodyProducer is the side of a body that makes the bytes (a transport's
 * connection, another stream). Both callbacks are optional.
 */
export interface BodyProducer {
  /**
   * The consumer wants data and the queue is empty, or the queue has
   * drained below the high-water mark after {@link BodySink.push} returned
   * false: produce more (resume the socket, read the next chunk). It may be
   * called when the producer is not paused; then it should do nothing.
   */
  pull?(): void
  /**
   * The consumer cancelled the body, or the response was garbage-collected
   * with its body unread, before the producer called `end()` or `error()`.
   * Stop producing and release what the body holds (close the connection).
   */
  cancel?(reason: unknown): void
}

/** BodySink is the producer's handle on a body made by {@link createBody}. */
export interface BodySink {
  /**
   * Queues a chunk for the consumer. Returns false when the queue holds at
   * least the high-water mark: stop producing until `pull()` is called.
   * Chunks pushed after the body was cancelled are dropped.
   */
  push(chunk: Uint8Array): boolean
  /** The producer has sent everything. The consumer still reads what is queued. */
  end(): void
  /** The body failed: queued chunks are still delivered, then the read rejects with `error`. */
  error(error: unknown): void
  /** How the body settled, or undefined while it is open. */
  readonly outcome: BodyOutcome | undefined
}

/** Options for {@link createBody}. */
export interface BodyOptions {
  /** Bytes queued before `push()` returns false. Default {@link DEFAULT_BODY_HIGH_WATER_MARK}. */
  highWaterMark?: number
}

/** DEFAULT_BODY_HIGH_WATER_MARK is the default queue size, in bytes, before a body asks its producer to pause. */
export const DEFAULT_BODY_HIGH_WATER_MARK = 64 * 1024

/** Error code: the response was garbage-collected while its body was still open (see {@link BodyOutcome}). */
export const ERR_BODY_COLLECTED = 'RT_BODY_COLLECTED'
/** Error code: {@link observeBody} was given a response whose body is already locked or used. */
export const ERR_BODY_USED = 'RT_BODY_USED'

const collector = new FinalizationRegistry<BodySource>((source) => source.collected())

// Registering a response with the FinalizationRegistry makes every young-
// generation GC slower for as long as the response lives (about 7 µs per
// request at 64 in flight), so it is done only where it is needed, and late:
// a new owner (or an observed one) waits until the event loop's next check
// phase, and is registered then only if its body is still open and either
// the producer still holds something to release or someone observes it. Most
// bodies are read, or have fully arrived unobserved, by then.
let deferred: Array<BodySource | object> = []

function adoptDeferred(): void {
  const list = deferred
  deferred = []
  for (let i = 0; i < list.length; i += 2) (list[i] as BodySource).adopt(list[i + 1]!)
}

// Taken when the module loads: a test that fakes timers afterwards (vitest,
// jest) must not hold responses in `deferred` until it advances its clock.
const checkPhase = setImmediate
/** Owners held at most before a batch is adopted at once (timers faked before this module loaded). */
const MAX_DEFERRED = 1024

function defer(source: BodySource, owner: object): void {
  if (deferred.length === 0) checkPhase(adoptDeferred)
  else if (deferred.length >= 2 * MAX_DEFERRED) adoptDeferred()
  deferred.push(source, owner)
}

function report(error: unknown): void {
  // An observer broke its contract; surface it rather than swallow it.
  queueMicrotask(() => {
    throw error
  })
}

/** A read waiting for the producer's next chunk. */
interface PendingRead {
  controller: ReadableStreamDefaultController<Uint8Array>
  resolve: () => void
}

class BodySource implements BodySink, TrackedSource {
  #producer: BodyProducer
  #hwm: number
  #queue: Uint8Array[] = []
  #bytes = 0
  #paused = false
  #ended = false
  #failed = false
  #failure: unknown
  // Weak: a read waiting on a stalled producer must not keep its stream,
  // and through it the response, reachable from the producer (the socket).
  // The stream's side holds the record strongly while the stream lives.
  #pending: WeakRef<PendingRead> | undefined
  #all: { resolve: (chunks: Uint8Array[]) => void; reject: (error: unknown) => void } | undefined
  #outcome: BodyOutcome | undefined
  #observers: BodyObserver[] = []
  #refs = 0

  constructor(producer: BodyProducer, hwm: number) {
    this.#producer = producer
    this.#hwm = hwm
  }

  get outcome(): BodyOutcome | undefined {
    return this.#outcome
  }

  #active(): boolean {
    return !this.#ended && !this.#failed && this.#outcome === undefined
  }

  push(chunk: Uint8Array): boolean {
    if (!this.#active()) return false
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.enqueue(chunk)
      pending.resolve()
      return true
    }
    this.#queue.push(chunk)
    if (this.#all !== undefined) {
      // Reading everything: never pause, ask for the next chunk.
      this.#producer.pull?.()
      return true
    }
    this.#bytes += chunk.byteLength
    if (this.#bytes >= this.#hwm) {
      this.#paused = true
      return false
    }
    return true
  }

  end(): void {
    if (!this.#active()) return
    this.#ended = true
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.close()
      pending.resolve()
      this.#settle('end')
      return
    }
    const all = this.#all
    if (all !== undefined) {
      this.#all = undefined
      this.#settle('end')
      all.resolve(this.#take())
    }
  }

  error(error: unknown): void {
    if (!this.#active()) return
    this.#failed = true
    this.#failure = error
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.error(error)
      pending.resolve()
    }
    const all = this.#all
    this.#all = undefined
    this.#settle('error', error)
    all?.reject(error)
  }

  #take(): Uint8Array[] {
    const chunks = this.#queue
    this.#queue = []
    this.#bytes = 0
    return chunks
  }

  readAll(): Promise<Uint8Array[]> {
    if (this.#failed) return Promise.reject(this.#failure)
    if (this.#ended) {
      this.#settle('end')
      return Promise.resolve(this.#take())
    }
    if (this.#outcome !== undefined) return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
    return new Promise((resolve, reject) => {
      this.#all = { resolve, reject }
      this.#paused = false
      this.#producer.pull?.()
    })
  }

  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array> {
    const underlying = {
      // Keeps the response alive while its stream is reachable, so that
      // garbage collection of the response means nobody can read the body.
      owner,
      pending: undefined as PendingRead | undefined,
      pull: (controller: ReadableStreamDefaultController<Uint8Array>) => {
        disturbed()
        return this.pull(controller, underlying)
      },
      cancel: (reason: unknown) => {
        disturbed()
        this.cancel(reason)
      },
    }
    const stream = new ReadableStream<Uint8Array>(underlying as never, { highWaterMark: 0 })
    sourceByStream.set(stream, { source: this, owner })
    return stream
  }

  retain(owner: object): void {
    if (this.#outcome === undefined) defer(this, owner)
  }

  /**
   * A clone shares the body: from the first clone on, every owner is
   * registered at once, so that `collected` waits for all of them (an
   * observer may watch any one of them).
   */
  retainClone(original: object, copy: object): void {
    if (this.#outcome !== undefined) return
    if (this.#refs === 0) this.#register(original)
    this.#register(copy)
  }

  #register(owner: object): void {
    this.#refs++
    collector.register(owner, this, this)
  }

  /** A deferred owner, once the event loop reached its check phase. */
  adopt(owner: object): void {
    if (this.#outcome === undefined && (this.#active() || this.#observers.length > 0)) this.#register(owner)
  }

  #takePending(): PendingRead | undefined {
    const pending = this.#pending?.deref()
    this.#pending = undefined
    return pending
  }

  pull(controller: ReadableStreamDefaultController<Uint8Array>, keeper: { pending: PendingRead | undefined }): Promise<void> | undefined {
    const chunk = this.#queue.shift()
    if (chunk !== undefined) {
      this.#bytes -= chunk.byteLength
      controller.enqueue(chunk)
      if (this.#paused && this.#bytes < this.#hwm) {
        this.#paused = false
        this.#producer.pull?.()
      }
      return undefined
    }
    if (this.#failed) {
      controller.error(this.#failure)
      return undefined
    }
    if (this.#ended) {
      controller.close()
      this.#settle('end')
      return undefined
    }
    return new Promise<void>((resolve) => {
      const record = { controller, resolve }
      keeper.pending = record
      this.#pending = new WeakRef(record)
      this.#paused = false
      this.#producer.pull?.()
    })
  }

  cancel(reason: unknown): void {
    const wasActive = this.#active()
    this.#take()
    this.#pending = undefined
    this.#settle('cancel', reason)
    if (wasActive) this.#producer.cancel?.(reason)
  }

  abort(reason: unknown): void {
    if (this.#outcome !== undefined) return
    const wasActive = this.#active()
    this.#take()
    this.#failed = true
    this.#failure = reason
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.error(reason)
      pending.resolve()
    }
    const all = this.#all
    this.#all = undefined
    this.#settle('cancel', reason)
    all?.reject(reason)
    if (wasActive) this.#producer.cancel?.(reason)
  }

  collected(): void {
    if (--this.#refs > 0 || this.#outcome !== undefined) return
    const wasActive = this.#active()
    const reason = new RoundTripError(
      ERR_BODY_COLLECTED,
      'response was garbage-collected before its body was read to the end or cancelled',
    )
    this.#take()
    // Should anything still read the body, it fails rather than ends short.
    this.#failed = true
    this.#failure = reason
    this.#settle('collected', reason)
    if (wasActive) this.#producer.cancel?.(reason)
  }

  /**
   * `owner` is the response being observed: an observer is told when it is
   * collected, so it is registered if nothing is yet.
   */
  observe(observer: BodyObserver, owner?: object): void {
    if (this.#outcome !== undefined) return observer(this.#outcome, this.#failure)
    this.#observers.push(observer)
    if (this.#refs === 0 && owner !== undefined) defer(this, owner)
  }

  #settle(outcome: BodyOutcome, reason?: unknown): void {
    if (this.#outcome !== undefined) return
    this.#outcome = outcome
    if (outcome === 'cancel') this.#failure = reason
    if (this.#refs > 0) collector.unregister(this)
    const observers = this.#observers
    if (observers.length === 0) return
    this.#observers = []
    for (const observer of observers) {
      try {
        observer(outcome, reason)
      } catch (error) {
        report(error)
      }
    }
  }
}

/**
 * createBody makes a response body fed by a producer. Pass `body` to
 * `createResponse`; feed it through `sink`. Anyone can learn how it settles
 * with {@link observeBody}.
 *
 * The body is pull-based: a chunk is handed over when the consumer reads,
 * so `end` means the consumer really read to the end, whatever API it used
 * (`text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`, `formData()`, a
 * reader, `for await`, `pipeTo`, `clone()` and its branches). Chunks are
 * passed by reference, never copied, and the body methods read them without
 * creating a stream. The producer keeps no reference to the response, so a
 * response nobody can reach any more is garbage-collected and its body
 * settles as `collected`, which calls the producer's `cancel`.
 *
 * @example
 * ```ts
 * const { body, sink } = createBody({ pull: () => socket.resume(), cancel: () => socket.destroy() })
 * socket.on('data', (chunk) => { if (!sink.push(chunk)) socket.pause() })
 * socket.on('end', () => sink.end())
 * return createResponse(body, { status: 200, url })
 * ```
 */
export function createBody(producer: BodyProducer, options?: BodyOptions): { body: TrackedBody; sink: BodySink } {
  const hwm = options?.highWaterMark ?? DEFAULT_BODY_HIGH_WATER_MARK
  if (!(hwm > 0)) throw new RangeError(`createBody: highWaterMark must be a positive number of bytes, got ${hwm}`)
  const source = new BodySource(producer, hwm)
  return { body: trackedBody(source), sink: source }
}

/**
 * abortBody cancels the body of `response` on behalf of someone other than
 * its reader (a leak tracker reclaiming a connection): the producer is told
 * to stop (the connection closes), a read in progress or to come rejects with
 * `reason`, and the body settles as `cancel`. Unlike `body.cancel()` it works
 * while a reader holds the stream. Returns false when the body was already
 * settled or is not one this package can reach (then nothing happens).
 */
export function abortBody(response: Response, reason: unknown): boolean {
  const source = trackedSourceOf(response) as BodySource | undefined
  if (source === undefined || source.outcome !== undefined) return false
  source.abort(reason)
  return true
}

/**
 * observeBody calls `observer` once when the body of `response` settles
 * (see {@link BodyOutcome}) and returns the response to hand on.
 *
 * For a response whose body was made by {@link createBody} (the Transport's
 * responses, and their clones) it only registers the observer and returns
 * the same response: nothing is copied or wrapped. For any other response
 * (Node's fetch, a test double) it returns a new {@link RoundTripResponse}
 * with the same status, headers, `url` and `redirected`, whose body passes
 * the original chunks through unchanged. A null body settles as `end` at
 * once, before this function returns.
 *
 * @throws RoundTripError `RT_BODY_USED` when the body is already locked or used.
 */
export function observeBody(response: Response, observer: BodyObserver): Response {
  const known = trackedSourceOf(response)
  if (known !== undefined) {
    known.observe(observer, response)
    return response
  }
  const stream = response.body
  if (stream === null) {
    observer('end')
    return response
  }
  const opened = sourceByStream.get(stream)
  if (opened !== undefined) {
    // `response` may be a plain Response over the stream: the one to watch
    // for garbage collection is the response that owns the body.
    opened.source.observe(observer, opened.owner)
    return response
  }
  if (stream.locked || response.bodyUsed) {
    throw new RoundTripError(ERR_BODY_USED, `observeBody: the body of ${response.url || 'the response'} is already locked or used`)
  }
  const reader = stream.getReader()
  let reading = false
  const { body, sink } = createBody({
    pull() {
      if (reading) return
      reading = true
      reader.read().then(
        (result) => {
          reading = false
          if (result.done) sink.end()
          else sink.push(result.value)
        },
        (error: unknown) => {
          reading = false
          sink.error(error)
        },
      )
    },
    cancel(reason) {
      reader.cancel(reason).catch(() => {})
    },
  })
  const wrapped = new RoundTripResponse(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    url: response.url,
    redirected: response.redirected,
    ...(response.type === 'default' ? {} : { type: response.type }),
  })
  ;(sink as BodySource).observe(observer)
  return wrapped
}
