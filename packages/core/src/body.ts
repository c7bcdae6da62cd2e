import { BodySource } from './body-source.js'
import type { BodyOutcome } from './body-state.js'
import { ERR_BODY_USED, RoundTripError } from './errors.js'
import { streamSource, type TrackedSource } from './internal.js'
import { RoundTripResponse, trackedSourceOf, type TrackedBody } from './response.js'

export type { BodyOutcome }

/**
 * BodyObserver is told, exactly once, how a body settled. `reason` is the
 * cancel reason or the error. It may be called synchronously from the call
 * that settles the body, so it must be quick and must not throw.
 */
export type BodyObserver = (outcome: BodyOutcome, reason?: unknown) => void

/**
 * BodyListener is a {@link BodyObserver} as an object: its `bodySettled`
 * method is called (with the object as `this`), exactly once, with how the
 * body settled. A layer that keeps per-call state in an object of its own
 * class passes that object, instead of making a closure per call; the same
 * rules hold (quick, must not throw).
 */
export interface BodyListener {
  /**
   * The body settled: `reason` is the cancel reason or the error; `settled`
   * has its sizes, as {@link whenBodySettles} tells them (one object for
   * every party of the body; do not change it). `settled` is undefined only
   * for a body made by an older copy of this package.
   */
  bodySettled(outcome: BodyOutcome, reason?: unknown, settled?: BodySettled): void
  /**
   * Optional: the producer released what it declared the body holds
   * ({@link BodySink.hold}): the connection went back to its pool or was
   * closed. Called at most once, while the body is open (so before
   * `bodySettled`), and only to a listener registered before the release:
   * {@link bodyHold} tells the state at registration. A gzip body may be
   * released long before its decoder has handed over its output, and so
   * long before it ends.
   */
  bodyReleased?(): void
}

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
  /**
   * The producer has sent everything. The consumer still reads what is
   * queued. `encodedBytes`: the body's size as it came off the wire, when the
   * producer decoded it (a `content-encoding`); the pushed bytes otherwise.
   */
  end(encodedBytes?: number): void
  /** The body failed: queued chunks are still delivered, then the read rejects with `error`. */
  error(error: unknown): void
  /**
   * Declares that the body holds a pooled connection (or a stream of a
   * multiplexed one) of pool `pool` (a transport's pool key, such as
   * `https://host:443`) until {@link BodySink.release}: layers above learn it
   * with {@link bodyHold} and a listener's `bodyReleased`, and need no
   * per-request trace for it. `reused`: whether the connection served an
   * earlier request (Go's `GotConnInfo.Reused`), when the producer knows;
   * {@link bodyHold} reports it, so a layer that only wants that fact (a
   * logger) needs no `gotConn` trace. Call it once, before handing the body
   * on (right after `createBody`); a second call is an internal error.
   */
  hold(pool: string, reused?: boolean): void
  /**
   * The producer let go what {@link BodySink.hold} declared: the connection
   * went back to its pool or was closed. This is not `end()`: a producer
   * that decodes (a `content-encoding`) releases its connection when the
   * last encoded byte arrived, and ends the body when the decoder has handed
   * over its output; one whose consumer cancelled releases after the body
   * settled. Listeners with `bodyReleased` are told while the body is open.
   * Later calls, and a call without a hold, are ignored.
   */
  release(): void
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
 * creating a stream. The producer keeps no reference to the response (only
 * to a stream read waiting for its next chunk), so a response nobody can
 * reach any more is garbage-collected and its body settles as `collected`,
 * which calls the producer's `cancel`. The lifecycle is the state table in
 * the README ("How a body is released").
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
  return { body: source, sink: source }
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
  const source = trackedSourceOf(response)
  if (source === undefined || source.outcome !== undefined) return false
  source.abort(reason)
  return true
}

/**
 * mapBodyError makes the reads of the body of `response` — its body methods,
 * its stream, and those of its clones — reject with `map(error)` when the
 * body's producer fails with `error` (the connection broke, a decoder
 * failed), instead of with `error` itself. `map` is called once, by the
 * first read that sees the failure; every read gets the same result.
 * Observers ({@link observeBody}) still learn `error`. Cancels and aborts
 * ({@link abortBody}) are not mapped. It is for a layer that gives body
 * errors a shape of its own: createFetch turns them into
 * `TypeError('terminated', { cause })`, as Node's fetch. Returns false, and
 * does nothing, when the body is not one this package can reach.
 */
export function mapBodyError(response: Response, map: (error: unknown) => unknown): boolean {
  const source = trackedSourceOf(response)
  if (source?.mapReadError === undefined) return false
  source.mapReadError(map)
  return true
}

/** BodySettled is what {@link whenBodySettles} tells: how the body settled, and its sizes (resource timing's). */
export interface BodySettled {
  outcome: BodyOutcome
  /** Bytes the consumer read (after any content decoding): the whole body for `end`. */
  decodedBytes: number
  /** Bytes as they came off the wire (before content decoding), as the producer gave them to `end()`; otherwise the bytes it pushed. */
  encodedBytes: number
}

/**
 * whenBodySettles calls `callback` once when the body of `response` (or of
 * a clone) settles, with the outcome and the body's sizes (resource timing
 * wants them). Unlike {@link observeBody} it does not keep the response
 * watched for garbage collection, so it costs a push and nothing more: a
 * response dropped after its whole body arrived unread may never call it (a
 * body still streaming is watched anyway, and settles as `collected`). It
 * must be quick and must not throw. Returns false, and does nothing, when
 * the body is not one this package can reach.
 */
export function whenBodySettles(response: Response, callback: (settled: BodySettled) => void): boolean {
  const source = trackedSourceOf(response)
  if (source?.follow === undefined) return false
  source.follow(callback)
  return true
}

/**
 * observeBody calls `observer` once when the body of `response` settles
 * (see {@link BodyOutcome}) and returns the response to hand on. `observer`
 * is a function, or a {@link BodyListener} whose `bodySettled` is called.
 * Every observer of a body waits in one list: a second layer observing the
 * same response costs a place in it, not another watch.
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
export function observeBody(response: Response, observer: BodyObserver | BodyListener): Response {
  const known = trackedSourceOf(response)
  if (known !== undefined) {
    register(known, observer, response)
    return response
  }
  const stream = response.body
  if (stream === null) {
    if (typeof observer === 'function') observer('end')
    else observer.bodySettled('end', undefined, NULL_BODY_SETTLED)
    return response
  }
  const opened = streamSource(stream)
  if (opened !== undefined) {
    // `response` may be a plain Response over the stream: the one to watch
    // for garbage collection is the response that owns the body.
    register(opened.source, observer, opened.owner)
    return response
  }
  if (stream.locked || response.bodyUsed) {
    throw new RoundTripError(ERR_BODY_USED, `observeBody: the body of ${response.url || 'the response'} is already locked or used`)
  }
  const producer = new ForeignProducer(stream.getReader())
  const { body, sink } = createBody(producer)
  producer.sink = sink
  const wrapped = new RoundTripResponse(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    url: response.url,
    redirected: response.redirected,
    ...(response.type === 'default' ? {} : { type: response.type }),
  })
  register(body.source, observer, undefined)
  return wrapped
}

/** What a listener on a null body is told: it ended, empty. */
const NULL_BODY_SETTLED: BodySettled = Object.freeze({ outcome: 'end', decodedBytes: 0, encodedBytes: 0 })

/** register adds `observer` to the parties `source` tells, watching `owner`; a source of an older copy of core, which knows no listeners, gets a function. */
function register(source: TrackedSource, observer: BodyObserver | BodyListener, owner: object | undefined): void {
  if (typeof observer === 'function') source.observe(observer, owner)
  else if (source.listen !== undefined) source.listen(observer, owner)
  else source.observe((outcome, reason) => observer.bodySettled(outcome, reason), owner)
}

/** The producer of a body over another response's stream (a class, not a literal: its methods are not closures made per response). */
class ForeignProducer implements BodyProducer {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  #reading = false
  sink: BodySink | undefined

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader
  }

  pull(): void {
    if (this.#reading) return
    this.#reading = true
    this.#reader.read().then(
      (result) => {
        this.#reading = false
        if (result.done) this.sink!.end()
        else this.sink!.push(result.value)
      },
      (error: unknown) => {
        this.#reading = false
        this.sink!.error(error)
      },
    )
  }

  cancel(reason: unknown): void {
    this.#reader.cancel(reason).catch(ignore)
  }
}

function ignore(): void {}
