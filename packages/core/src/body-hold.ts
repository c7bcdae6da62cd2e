import { bodilessHoldOf, trackedSourceOf } from './response.js'

/**
 * BodyHold is what the producer of a body declared the body holds
 * (`BodySink.hold`), as it stands when asked: the pool of the connection,
 * whether it was reused, and whether the producer has let it go.
 */
export interface BodyHold {
  /** The pool key of the connection (or HTTP/2 stream) the body holds or held: `https://host:443`, as the Transport names its pools. */
  pool: string
  /**
   * Whether the producer released it (`BodySink.release`): the connection
   * went back to its pool or was closed. A released body still open holds
   * only the memory of what the consumer has not read (for a compressed
   * body, what the decoder has yet to hand over).
   */
  released: boolean
  /**
   * Whether the connection had served an earlier request when this one
   * took it (Go's `GotConnInfo.Reused`), as the producer declared
   * (`BodySink.hold(pool, reused)`). Absent when the producer did not say.
   * The Transport says it for every response it makes, with a body or
   * without one (`HEAD`, 204, 304).
   */
  reused?: boolean
}

/**
 * bodyHold tells what the body of `response` (or of a clone) holds, as its
 * producer declared: a connection of pool `pool`, still held unless
 * `released`. The Transport declares it on every response body it makes
 * (HTTP/1.1 connection or HTTP/2 stream), with whether the connection was
 * `reused`. For a response without a body (`HEAD`, 204, 304) it is what the
 * producer passed as `createResponse`'s `hold` (the Transport passes one,
 * `released: true`): a shared frozen object, not kept by `clone()`.
 * Undefined when the producer declared nothing (a body not made by
 * `createBody`, one whose producer holds no connection, a response made
 * without `hold`, or a producer of an older copy of core): then nothing is
 * known, which is not the same as "holds nothing".
 *
 * To learn when the connection is released, observe the body with a
 * `BodyListener` that has `bodyReleased` (`observeBody(response, listener)`):
 * no closure, no per-request trace. For a body, each call returns a new
 * object.
 *
 * @example
 * ```ts
 * const hold = bodyHold(response)
 * if (hold !== undefined && !hold.released) console.log(`the body pins a connection to ${hold.pool}`)
 * ```
 */
export function bodyHold(response: Response): Readonly<BodyHold> | undefined {
  const source = trackedSourceOf(response)
  return source === undefined ? bodilessHoldOf(response) : source.holding?.()
}
