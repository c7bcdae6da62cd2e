// The source behind a tracked body: what `createBody` returns as the sink,
// what response.ts reads through `TrackedSource`, and how a response that is
// garbage-collected with its body open is noticed.
import type { BodyObserver, BodyOutcome, BodyProducer, BodySink } from './body.js'
import { ERR_BODY_COLLECTED, RoundTripError } from './errors.js'
import { sourceByStream, type TrackedSource } from './internal.js'

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

/**
 * BodySource is the state behind a body made by `createBody`: the producer's
 * sink, the consumer's pull-based source, and the garbage-collection watch.
 */
export class BodySource implements BodySink, TrackedSource {
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
  /** An owner waits in `deferred`; its adoption will see observers added meanwhile. */
  #deferred = false

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
    if (this.#active()) this.#fail(error, 'error')
  }

  /** Fails the body with `reason`: a read waiting or to come rejects with it; settles as `outcome`. */
  #fail(reason: unknown, outcome: BodyOutcome): void {
    this.#failed = true
    this.#failure = reason
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.error(reason)
      pending.resolve()
    }
    const all = this.#all
    this.#all = undefined
    this.#settle(outcome, reason)
    all?.reject(reason)
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
    this.#defer(owner)
  }

  /** Waits for the check phase to decide whether `owner` needs watching; once per source. */
  #defer(owner: object): void {
    if (this.#outcome !== undefined || this.#deferred) return
    this.#deferred = true
    defer(this, owner)
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
    this.#deferred = false
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
    this.#fail(reason, 'cancel')
    if (wasActive) this.#producer.cancel?.(reason)
  }

  collected(): void {
    // `text()` and the like need not keep their response: reading to the end
    // goes on, and settles the body, without it.
    if (--this.#refs > 0 || this.#outcome !== undefined || this.#all !== undefined) return
    const wasActive = this.#active()
    const reason = new RoundTripError(
      ERR_BODY_COLLECTED,
      'response was garbage-collected before its body was read to the end or cancelled',
    )
    this.#take()
    // Should anything still read the body, it fails rather than ends short.
    this.#fail(reason, 'collected')
    if (wasActive) this.#producer.cancel?.(reason)
  }

  /**
   * `owner` is the response that owns the body: an observer is told when it
   * is collected, so it is watched if nothing is yet.
   */
  observe(observer: BodyObserver, owner?: object): void {
    if (this.#outcome !== undefined) return observer(this.#outcome, this.#failure)
    this.#observers.push(observer)
    if (this.#refs === 0 && owner !== undefined) this.#defer(owner)
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
