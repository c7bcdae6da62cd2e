import { shared } from './internal.js'
/**
 * ReplayableBody declares a request body whose length is known and which can
 * be produced again: Go's `Request.ContentLength` and `Request.GetBody`. A
 * `Request` cannot say either (its body is a one-shot stream), so the layer
 * that built the request from its source declares them with
 * {@link withReplayableBody}; `createFetch` does it for string, bytes,
 * `Blob`, `URLSearchParams` and `FormData` bodies, as the fetch standard's
 * "extract a body" gives their length.
 *
 * The Transport sends such a body with `Content-Length: length` whatever its
 * size and sends `getBody()` again when it retries on a stale connection; a
 * retry middleware uses it the same way. A `ReadableStream` body has no
 * declaration: its length is unknown and it goes out once, chunked.
 */
export interface ReplayableBody {
  /** The body's length in bytes (a non-negative safe integer). */
  readonly length: number
  /**
   * Returns the body's bytes again, from the start: the same bytes that the
   * request's `body` stream yields, `length` of them. It may be called any
   * number of times; the result must not be mutated.
   */
  getBody(): Uint8Array | Blob
}

// Shared by every installed copy of core (as the request contexts are): a
// Transport bundled with another copy must still see what createFetch declared.
const declared = shared('@roundtrip/core.replayableBodies.v1', () => new WeakMap<Request, ReplayableBody>())

/**
 * withReplayableBody declares that `request`'s body is `body` (its length
 * and how to produce it again) and returns the same request. The caller
 * vouches that `body.getBody()` yields exactly the bytes of `request.body`.
 * `deriveRequest` carries the declaration to a derived request that keeps
 * the body, and drops it when the derived request gets another body.
 *
 * @throws TypeError when the request has no body, `length` is not a
 * non-negative safe integer, or `getBody` is not a function.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode(JSON.stringify(data))
 * const request = withReplayableBody(new Request(url, { method: 'PUT', body: bytes }), {
 *   length: bytes.byteLength,
 *   getBody: () => bytes,
 * })
 * ```
 */
export function withReplayableBody<T extends Request>(request: T, body: ReplayableBody): T {
  if (request.body === null) throw new TypeError('withReplayableBody: the request has no body to declare')
  const length = body?.length
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new TypeError(`withReplayableBody: length must be a non-negative safe integer (got ${String(length)})`)
  }
  if (typeof body.getBody !== 'function') throw new TypeError('withReplayableBody: getBody must be a function')
  declared.set(request, body)
  return request
}

/**
 * getReplayableBody returns the declaration made for `request`'s body with
 * {@link withReplayableBody}, or `undefined` when its body was not declared
 * (no body, a stream, or a request built by code that did not declare it).
 */
export function getReplayableBody(request: Request): ReplayableBody | undefined {
  return declared.get(request)
}

/** carryReplayableBody gives `to` the declaration of `from` (used by deriveRequest when the body moves over). */
export function carryReplayableBody(from: Request, to: Request): void {
  const body = declared.get(from)
  if (body !== undefined) declared.set(to, body)
}
