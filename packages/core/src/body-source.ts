// The state behind a tracked body: the producer's sink (push/end/error) and
// the consumer's pull source (readAll, openStream, cancel), and the parties
// told how it settled (observe, listen, follow). Its lifecycle is
// the table in body-state.ts, and every change of state goes through #to().
// The chunks wait in a ChunkQueue (chunk-queue.ts); garbage collection of
// the responses that own the body is watched by GcWatched (gc-watch.ts).
import type { BodyListener, BodyObserver, BodyProducer, BodySettled, BodySink } from './body.js'
import type { BodyHold } from './body-hold.js'
import { checkTransition, isProducing, isSettled, outcomeOf, State, stopsProducer, type BodyOutcome } from './body-state.js'
import { ChunkQueue } from './chunk-queue.js'
import { ERR_BODY_COLLECTED, RoundTripError, internalError } from './errors.js'
import { GcWatched } from './gc-watch.js'
import { openBodyStream } from './body-stream.js'
import { kTrackedBody, type TrackedSource } from './internal.js'
import { rethrowLater } from './rethrow.js'

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

// How a party waiting for the outcome wants to be told (see #waiting).
const OBSERVER = 0 // a BodyObserver function: (outcome, reason)
const LISTENER = 1 // a BodyListener object: listener.bodySettled(outcome, reason)
const FOLLOWER = 2 // a whenBodySettles callback: (settled), sizes included
type Kind = typeof OBSERVER | typeof LISTENER | typeof FOLLOWER
type Party = BodyObserver | BodyListener | ((settled: BodySettled) => void)
/** The list of parties: (kind, party) pairs; a pair whose kind is undefined is a free place. */
type Waiting = Array<Kind | Party | undefined>

/** A stream read waiting for the producer's next chunk. */
interface PendingRead {
  controller: ReadableStreamDefaultController<Uint8Array>
  resolve: () => void
}

/**
 * BodySource is the state behind a body made by `createBody`: the producer's
 * sink, the consumer's pull-based source, and the target of the garbage-
 * collection watch. It is also the `TrackedBody` handed to `createResponse`.
 */
export class BodySource extends GcWatched implements BodySink, TrackedSource {
  declare readonly [kTrackedBody]: true
  #state: State = State.Streaming
  #producer: BodyProducer
  #queue: ChunkQueue
  /** The error, abort reason or collection error a read rejects with; the cancel reason. */
  #failure: unknown
  // A stream read waiting for the producer. Held strongly: it is always a
  // consumer's read (the branches of a clone read nothing before they are
  // read), so a consumer waiting on a slow producer stays reachable from it
  // and is not collected mid-read. A dropped response with no read waiting
  // is not held by it.
  #pending: PendingRead | undefined
  /** The drain of readAll() (text() & co.), while Draining. */
  #all: { resolve: (chunks: Uint8Array[]) => void; reject: (error: unknown) => void } | undefined
  /**
   * Everyone told the outcome, in the order they came: one list of
   * (kind, party) pairs, flat so that a registration allocates nothing
   * beyond the list's growth. It is made with room for two pairs (then eight places, then pushes): a body is often
   * watched by two layers (a leak tracker, createFetch's resource timing),
   * and a list of one pair grows to 19 places on the second push. Observers
   * and listeners (observeBody) keep the owner watched for collection while
   * they wait; followers (whenBodySettles) do not.
   */
  #waiting: Waiting | undefined
  /** How many of #waiting keep the owner watched (observers and listeners). */
  #watchers = 0
  /** How reads see a producer's error (mapBodyError), and its result once made. */
  #mapError: ((error: unknown) => unknown) | undefined
  #mapped: { error: unknown } | undefined
  /** Bytes the producer pushed, bytes the consumer took, and the wire size the producer gave at the end. */
  #pushedBytes = 0
  #readBytes = 0
  #encodedBytes: number | undefined
  /** The pool whose connection the producer declared the body holds (hold()), and whether it let it go (release()). */
  #holdPool: string | undefined
  #released = false
  /** Whether the held connection served an earlier request, as hold() was told (undefined: not said). */
  #reused: boolean | undefined

  constructor(producer: BodyProducer, highWaterMark: number) {
    super()
    this.#producer = producer
    this.#queue = new ChunkQueue(highWaterMark)
  }

  /** The source itself: a BodySource is its own TrackedBody. */
  get source(): TrackedSource {
    return this
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
    this.unwatchAll()
    const waiting = this.#waiting
    this.#waiting = undefined
    this.#watchers = 0
    if (waiting !== undefined) this.#tell(waiting, outcomeOf[next]!, reason)
    if (stopsProducer(from, next)) this.#producer.cancel?.(reason)
  }

  /** Tells each waiting party the outcome, the way it asked; one that throws broke its contract and is surfaced, not swallowed. */
  #tell(waiting: Waiting, outcome: BodyOutcome, reason: unknown): void {
    let settled: BodySettled | undefined
    for (let i = 0; i < waiting.length; i += 2) {
      const kind = waiting[i]
      if (kind === undefined) continue
      const party = waiting[i + 1]
      try {
        if (kind === OBSERVER) (party as BodyObserver)(outcome, reason)
        else if (kind === LISTENER) (party as BodyListener).bodySettled(outcome, reason, (settled ??= this.#settled(outcome)))
        else (party as (settled: BodySettled) => void)((settled ??= this.#settled(outcome)))
      } catch (error) {
        rethrowLater(error)
      }
    }
  }

  #settled(outcome: BodyOutcome): BodySettled {
    return { outcome, decodedBytes: this.#readBytes, encodedBytes: this.#encodedBytes ?? this.#pushedBytes }
  }

  // --- the producer's side (BodySink) ---

  push(chunk: Uint8Array): boolean {
    if (!isProducing(this.#state)) return false
    this.#pushedBytes += chunk.byteLength
    const pending = this.#takePending()
    if (pending !== undefined) {
      this.#readBytes += chunk.byteLength
      pending.controller.enqueue(chunk)
      pending.resolve()
      return true
    }
    const below = this.#queue.enqueue(chunk)
    if (this.#state !== State.Draining) return below
    // Reading everything: never pause, ask for the next chunk.
    this.#queue.unpause()
    this.#producer.pull?.()
    return true
  }

  end(encodedBytes?: number): void {
    if (encodedBytes !== undefined && isProducing(this.#state)) this.#encodedBytes = encodedBytes
    if (this.#state === State.Draining) {
      const all = this.#all!
      this.#all = undefined
      const chunks = this.#takeAll()
      this.#to(State.Ended)
      all.resolve(chunks)
    } else if (this.#state === State.Streaming) {
      this.#to(State.Complete)
      const pending = this.#takePending()
      if (pending === undefined) return
      pending.controller.close()
      pending.resolve()
      this.#to(State.Ended)
    }
  }

  error(error: unknown): void {
    if (isProducing(this.#state)) this.#fail(State.Failed, error)
  }

  hold(pool: string, reused?: boolean): void {
    if (typeof pool !== 'string') throw new TypeError(`BodySink.hold: pool must be a string (a pool key), got ${typeof pool}`)
    if (reused !== undefined && typeof reused !== 'boolean') throw new TypeError(`BodySink.hold: reused must be a boolean or undefined, got ${typeof reused}`)
    if (this.#holdPool !== undefined) throw internalError(`BodySink.hold called twice (${this.#holdPool}, then ${pool})`)
    this.#holdPool = pool
    this.#reused = reused
  }

  release(): void {
    if (this.#holdPool === undefined || this.#released) return
    this.#released = true
    // Only open bodies have parties waiting: a settled body's were told and dropped.
    const waiting = this.#waiting
    if (waiting === undefined) return
    for (let i = 0; i < waiting.length; i += 2) {
      if (waiting[i] !== LISTENER) continue
      const listener = waiting[i + 1] as BodyListener
      if (listener.bodyReleased === undefined) continue
      try {
        listener.bodyReleased()
      } catch (error) {
        rethrowLater(error)
      }
    }
  }

  holding(): BodyHold | undefined {
    const pool = this.#holdPool
    if (pool === undefined) return undefined
    const reused = this.#reused
    return reused === undefined ? { pool, released: this.#released } : { pool, released: this.#released, reused }
  }

  // --- the consumer's side (TrackedSource) ---

  readAll(): Promise<Uint8Array[]> {
    switch (this.#state) {
      case State.Streaming:
        return new Promise((resolve, reject) => {
          this.#to(State.Draining)
          this.#all = { resolve, reject }
          this.#queue.unpause()
          this.#producer.pull?.()
        })
      case State.Complete:
        return Promise.resolve(this.readAllNow()!)
      case State.Failed:
        return Promise.reject(this.#mappedFailure())
      case State.Aborted:
      case State.Collected:
        return Promise.reject(this.#failure)
      default:
        return Promise.reject(unusable())
    }
  }

  complete(): boolean {
    return this.#state === State.Complete
  }

  readAllNow(): Uint8Array[] | undefined {
    if (this.#state !== State.Complete) return undefined
    const chunks = this.#takeAll()
    this.#to(State.Ended)
    return chunks
  }

  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array> {
    return openBodyStream(this, owner, disturbed)
  }

  /** A stream's read (body-stream.ts): the next chunk, the end or the error, or a wait for the producer. */
  pullInto(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    // text() & co. own the queue: a stream opened after them must not steal from it.
    if (this.#state === State.Draining) return controller.error(unusable())
    const chunk = this.#queue.dequeue()
    if (chunk !== undefined) {
      this.#readBytes += chunk.byteLength
      controller.enqueue(chunk)
      if (this.#queue.resumable()) this.#producer.pull?.()
      return
    }
    switch (this.#state) {
      case State.Streaming:
        return new Promise<void>((resolve) => {
          this.#pending = { controller, resolve }
          this.#queue.unpause()
          this.#producer.pull?.()
        })
      case State.Complete:
        controller.close()
        return this.#to(State.Ended)
      case State.Ended:
      case State.Cancelled:
        return controller.close()
      case State.Failed:
        return controller.error(this.#mappedFailure())
      default:
        return controller.error(this.#failure)
    }
  }

  cancel(reason: unknown): void {
    if (this.#state !== State.Streaming && this.#state !== State.Complete) return
    this.#queue.clear()
    this.#pending = undefined
    this.#failure = reason
    this.#to(State.Cancelled, reason)
  }

  abort(reason: unknown): void {
    if (!isSettled(this.#state)) this.#fail(State.Aborted, reason)
  }

  mapReadError(map: (error: unknown) => unknown): void {
    this.#mapError = map
  }

  /** Fails the body: a read waiting or to come rejects with `reason` (after what the producer queued, for an error). */
  #fail(next: State, reason: unknown): void {
    if (next !== State.Failed) this.#queue.clear()
    this.#failure = reason
    // Readers see a producer's error as their layer maps it; observers see it as it is.
    const read = next === State.Failed ? this.#mappedFailure() : reason
    const pending = this.#takePending()
    if (pending !== undefined) {
      pending.controller.error(read)
      pending.resolve()
    }
    const all = this.#all
    this.#all = undefined
    this.#to(next, reason)
    all?.reject(read)
  }

  /** The producer's error as mapBodyError maps it, mapped once (every read and clone sees the same error). */
  #mappedFailure(): unknown {
    const map = this.#mapError
    if (map === undefined) return this.#failure
    this.#mapped ??= { error: map(this.#failure) }
    return this.#mapped.error
  }

  /** Every queued chunk, for text() & co. (all the bytes not yet read are read now). */
  #takeAll(): Uint8Array[] {
    this.#readBytes = this.#pushedBytes
    return this.#queue.takeAll()
  }

  #takePending(): PendingRead | undefined {
    const pending = this.#pending
    this.#pending = undefined
    return pending
  }

  // --- observers, and the GC watch's questions ---

  /**
   * `owner` is the response that owns the body: an observer is told when it
   * is collected, so it is watched if nothing is yet.
   */
  observe(observer: BodyObserver, owner?: object): void {
    this.#wait(OBSERVER, observer, owner)
  }

  /** As observe(), for a listener object (its `bodySettled` method is called). */
  listen(listener: BodyListener, owner?: object): void {
    this.#wait(LISTENER, listener, owner)
  }

  /** `follower` is told when the body settles, with its sizes; unlike observe(), no owner is watched for it. */
  follow(follower: (settled: BodySettled) => void): void {
    this.#wait(FOLLOWER, follower, undefined)
  }

  #wait(kind: Kind, party: Party, owner: object | undefined): void {
    const outcome = outcomeOf[this.#state]
    if (outcome !== undefined) return this.#tell([kind, party], outcome, this.#failure)
    const waiting = this.#waiting
    if (waiting === undefined) this.#waiting = [kind, party, undefined, undefined]
    else if (waiting[waiting.length - 2] === undefined) {
      waiting[waiting.length - 2] = kind
      waiting[waiting.length - 1] = party
    } else if (waiting.length === 4) {
      // A third party (a logger and a deadline over createFetch's timing):
      // a list of four made for eight, where a push grows it to room for 22.
      this.#waiting = [waiting[0], waiting[1], waiting[2], waiting[3], kind, party, undefined, undefined]
    } else waiting.push(kind, party)
    if (kind === FOLLOWER) return
    this.#watchers++
    if (owner !== undefined) this.watchLater(owner)
  }

  protected isOpen(): boolean {
    return !isSettled(this.#state)
  }

  protected needsWatch(): boolean {
    return isProducing(this.#state) || this.#watchers > 0
  }

  protected onCollected(): void {
    // text() and the like need not keep their response: the drain goes on,
    // and settles the body, without it.
    if (this.#state === State.Draining) return
    // Should anything still read the body, it fails rather than ends short.
    const reason = new RoundTripError(
      ERR_BODY_COLLECTED,
      'response was garbage-collected before its body was read to the end or cancelled',
    )
    this.#fail(State.Collected, reason)
  }
}
Object.defineProperty(BodySource.prototype, kTrackedBody, { value: true })
