// The state behind a tracked body: the producer's sink (push/end/error), the
// consumer's pull source (readAll, openStream, pull, cancel) and the target
// of the garbage-collection watch. Its lifecycle is the table in
// body-state.ts; every change of state goes through #to().
import type { BodyObserver, BodyProducer, BodySink } from './body.js'
import { checkTransition, isProducing, isSettled, outcomeOf, State, type BodyOutcome } from './body-state.js'
import { ChunkQueue } from './chunk-queue.js'
import { ERR_BODY_COLLECTED, RoundTripError } from './errors.js'
import { deferWatch, unwatch, watch, type Watched } from './gc-watch.js'
import { registerStream, type TrackedSource } from './internal.js'
import { rethrowLater } from './rethrow.js'

/** A stream read waiting for the producer's next chunk. */
interface PendingRead {
  controller: ReadableStreamDefaultController<Uint8Array>
  resolve: () => void
}

/** What a stream over the source keeps: its response, and its waiting read. */
interface StreamKeeper {
  owner: object
  pending: PendingRead | undefined
}

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

/**
 * BodySource is the state behind a body made by `createBody`: the producer's
 * sink, the consumer's pull-based source, and the garbage-collection watch.
 */
export class BodySource extends ChunkQueue implements BodySink, TrackedSource, Watched {
  #state: State = State.Streaming
  #producer: BodyProducer
  /** The error, abort reason or collection error a read rejects with; the cancel reason. */
  #failure: unknown
  // Weak: a read waiting on a stalled producer must not keep its stream,
  // and through it the response, reachable from the producer (the socket).
  // The stream's side (StreamKeeper) holds the record while the stream lives.
  #pending: WeakRef<PendingRead> | undefined
  /** The drain of readAll() (text() & co.), while Draining. */
  #all: { resolve: (chunks: Uint8Array[]) => void; reject: (error: unknown) => void } | undefined
  #observers: BodyObserver[] | undefined
  /** Owners registered with the GC watch; collection settles the body when the last one goes. */
  #refs = 0
  /** An owner waits for the check phase; its adoption will see observers added meanwhile. */
  #deferred = false

  constructor(producer: BodyProducer, highWaterMark: number) {
    super(highWaterMark)
    this.#producer = producer
  }

  get outcome(): BodyOutcome | undefined {
    return outcomeOf[this.#state]
  }

  /**
   * Moves to `next` (checked against the table) and does what entering it
   * means: a state with an outcome stops the GC watch and tells the
   * observers; leaving a producing state for a consumer's end tells the
   * producer to stop (this is the one place its `cancel` is called).
   */
  #to(next: State, reason?: unknown): void {
    const from = this.#state
    checkTransition(from, next)
    this.#state = next
    if (!isSettled(next)) return
    if (this.#refs > 0) unwatch(this)
    const outcome = outcomeOf[next]!
    const observers = this.#observers
    this.#observers = undefined
    if (observers !== undefined) {
      for (const observer of observers) {
        try {
          observer(outcome, reason)
        } catch (error) {
          // An observer broke its contract; surface it rather than swallow it.
          rethrowLater(error)
        }
      }
    }
    if (isProducing(from) && next !== State.Ended && next !== State.Failed) this.#producer.cancel?.(reason)
  }

  // --- producer side (BodySink) ---

  push(chunk: Uint8Array): boolean {
    if (!isProducing(this.#state)) return false
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.enqueue(chunk)
      pending.resolve()
      return true
    }
    if (this.#state === State.Draining) {
      // Reading everything: never pause, ask for the next chunk.
      this.enqueue(chunk)
      this.#producer.pull?.()
      return true
    }
    return this.enqueue(chunk)
  }

  end(): void {
    if (this.#state === State.Draining) {
      const all = this.#all!
      this.#all = undefined
      this.#to(State.Ended)
      all.resolve(this.takeAll())
      return
    }
    if (this.#state !== State.Streaming) return
    this.#to(State.Complete)
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.close()
      pending.resolve()
      this.#to(State.Ended)
    }
  }

  error(error: unknown): void {
    if (isProducing(this.#state)) this.#fail(State.Failed, error)
  }

  // --- consumer side (TrackedSource) ---

  readAll(): Promise<Uint8Array[]> {
    switch (this.#state) {
      case State.Streaming:
        return new Promise((resolve, reject) => {
          this.#to(State.Draining)
          this.#all = { resolve, reject }
          this.unpause()
          this.#producer.pull?.()
        })
      case State.Complete:
        this.#to(State.Ended)
        return Promise.resolve(this.takeAll())
      case State.Failed:
      case State.Aborted:
      case State.Collected:
        return Promise.reject(this.#failure)
      default:
        return Promise.reject(unusable())
    }
  }

  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array> {
    const keeper = {
      // Keeps the response alive while its stream is reachable, so that
      // garbage collection of the response means nobody can read the body.
      owner,
      pending: undefined as PendingRead | undefined,
      pull: (controller: ReadableStreamDefaultController<Uint8Array>) => {
        disturbed()
        return this.#pull(controller, keeper)
      },
      cancel: (reason: unknown) => {
        disturbed()
        this.cancel(reason)
      },
    }
    const stream = new ReadableStream<Uint8Array>(keeper, { highWaterMark: 0 })
    registerStream(stream, this, owner)
    return stream
  }

  #pull(controller: ReadableStreamDefaultController<Uint8Array>, keeper: StreamKeeper): Promise<void> | undefined {
    // text() & co. own the queue; a stream opened after them does not steal from it.
    if (this.#state === State.Draining) {
      controller.error(unusable())
      return undefined
    }
    const chunk = this.dequeue()
    if (chunk !== undefined) {
      controller.enqueue(chunk)
      if (this.resumable()) this.#producer.pull?.()
      return undefined
    }
    switch (this.#state) {
      case State.Streaming:
        return new Promise<void>((resolve) => {
          const record = { controller, resolve }
          keeper.pending = record
          this.#pending = new WeakRef(record)
          this.unpause()
          this.#producer.pull?.()
        })
      case State.Complete:
        controller.close()
        this.#to(State.Ended)
        return undefined
      case State.Ended:
      case State.Cancelled:
        controller.close()
        return undefined
      default:
        controller.error(this.#failure)
        return undefined
    }
  }

  cancel(reason: unknown): void {
    if (this.#state !== State.Streaming && this.#state !== State.Complete) return
    this.clear()
    this.#pending = undefined
    this.#failure = reason
    this.#to(State.Cancelled, reason)
  }

  abort(reason: unknown): void {
    if (!isSettled(this.#state)) this.#fail(State.Aborted, reason)
  }

  /** Fails the body with `reason`: a read waiting or to come rejects with it (after what the producer queued, for an error). */
  #fail(next: State, reason: unknown): void {
    if (next !== State.Failed) this.clear()
    this.#failure = reason
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.error(reason)
      pending.resolve()
    }
    const all = this.#all
    this.#all = undefined
    this.#to(next, reason)
    all?.reject(reason)
  }

  #takePending(): PendingRead | undefined {
    const pending = this.#pending?.deref()
    this.#pending = undefined
    return pending
  }

  // --- observers and the GC watch ---

  /**
   * `owner` is the response that owns the body: an observer is told when it
   * is collected, so it is watched if nothing is yet.
   */
  observe(observer: BodyObserver, owner?: object): void {
    const outcome = outcomeOf[this.#state]
    if (outcome !== undefined) return observer(outcome, this.#failure)
    ;(this.#observers ??= []).push(observer)
    if (this.#refs === 0 && owner !== undefined) this.#defer(owner)
  }

  retain(owner: object): void {
    this.#defer(owner)
  }

  /** Waits for the check phase to decide whether `owner` needs watching; once per source. */
  #defer(owner: object): void {
    if (isSettled(this.#state) || this.#deferred) return
    this.#deferred = true
    deferWatch(this, owner)
  }

  /**
   * A clone shares the body: from the first clone on, every owner is
   * registered at once, so that `collected` waits for all of them (an
   * observer may watch any one of them).
   */
  retainClone(original: object, copy: object): void {
    if (isSettled(this.#state)) return
    if (this.#refs === 0) this.#watch(original)
    this.#watch(copy)
  }

  #watch(owner: object): void {
    this.#refs++
    watch(owner, this)
  }

  adopt(owner: object): void {
    this.#deferred = false
    if (isSettled(this.#state) || this.#refs > 0) return
    if (isProducing(this.#state) || this.#observers !== undefined) this.#watch(owner)
  }

  collected(): void {
    // text() and the like need not keep their response: the drain goes on,
    // and settles the body, without it.
    if (--this.#refs > 0 || (this.#state !== State.Streaming && this.#state !== State.Complete)) return
    // Should anything still read the body, it fails rather than ends short.
    const reason = new RoundTripError(
      ERR_BODY_COLLECTED,
      'response was garbage-collected before its body was read to the end or cancelled',
    )
    this.#fail(State.Collected, reason)
  }
}
