import { getReplayableBody, type ReplayableBody } from '@roundtrip/core'

/** What the Transport sends as a request body. */
export interface OutgoingBody {
  /**
   * A Buffer when the body was collected (replayable), an async iterable
   * otherwise (replayable when it is a {@link DeclaredBody}), or null.
   */
  body: Buffer | AsyncIterable<Uint8Array> | null
  /** The body's declared length in bytes, sent as `content-length`; undefined when not declared. */
  length?: number | undefined
  /** Whether the body can be sent again (absent, collected or declared), for the stale-connection retry. */
  replayable: boolean
}

/** The outgoing body of a request without one. */
export const NO_BODY: OutgoingBody = { body: null, replayable: true }
/** Largest body collected into one buffer before sending; larger declared bodies stream with their content-length. */
const MAX_BUFFERED = 1024 * 1024

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(resolve, undefined))
}

/**
 * prepareBody takes the body of `request`.
 *
 * A body declared with core's `withReplayableBody` (createFetch declares
 * string, bytes, Blob, URLSearchParams and FormData bodies, as the fetch
 * standard's "extract a body" knows their length) goes out with its
 * `content-length` whatever its size: collected into one buffer up to
 * 1 MiB, streamed beyond; it is replayable (a retry sends `getBody()`).
 *
 * An undeclared body (a `Request` built without a declaration) has no
 * length the Transport can know. As a fallback, the bytes its stream yields
 * without waiting for the event loop are collected, up to 1 MiB, and sent
 * with a `content-length` (replayable): a `Request` made from a string
 * still gets one. A body that makes the reader wait (a user's stream), or a
 * larger one, is streamed as it comes, chunked, and is not replayable, and
 * so is a body whose request context says `streamedBody: true` (createFetch
 * says it of a `ReadableStream` or async iterable it was given).
 * Declare the body to have its length sent whatever its size.
 */
export async function prepareBody(request: Request, streamed = false): Promise<OutgoingBody> {
  const stream = request.body
  if (stream === null) return NO_BODY
  const declared = getReplayableBody(request)
  if (declared !== undefined) return declaredBody(stream, declared)
  const reader = stream.getReader()
  // The caller said it is a stream of unknown length (context's streamedBody): no read-ahead.
  if (streamed) return { body: rest([], undefined, reader), replayable: false }
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const pending = reader.read()
    if (size > MAX_BUFFERED) return { body: rest(chunks, pending, reader), replayable: false }
    const result = await Promise.race([pending, nextTurn()])
    if (result === undefined) return { body: rest(chunks, pending, reader), replayable: false }
    if (result.done) return { body: concat(chunks, size), replayable: true }
    chunks.push(result.value)
    size += result.value.byteLength
  }
}

async function declaredBody(stream: ReadableStream<Uint8Array>, declared: ReplayableBody): Promise<OutgoingBody> {
  const length = declared.length
  if (length > MAX_BUFFERED) return { body: new DeclaredBody(stream, declared), length, replayable: true }
  // A declared body's bytes are all there: read them without racing the event loop.
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let result = await reader.read(); !result.done; result = await reader.read()) {
    chunks.push(result.value)
    size += result.value.byteLength
  }
  // A length that does not match the bytes is refused by undici's writer (RT_INVALID_REQUEST).
  return { body: concat(chunks, size), length, replayable: true }
}

function concat(chunks: Uint8Array[], size: number): Buffer {
  if (chunks.length === 0) return Buffer.alloc(0)
  const first = chunks[0]!
  return chunks.length === 1 ? Buffer.from(first.buffer, first.byteOffset, first.byteLength) : Buffer.concat(chunks, size)
}

/**
 * DeclaredBody is a large declared body as undici takes it: an iterable that
 * yields the request's own stream the first time, and `getBody()` on every
 * later send (a retry after a stale connection).
 */
class DeclaredBody implements AsyncIterable<Uint8Array> {
  #first: ReadableStream<Uint8Array> | undefined
  readonly #declared: ReplayableBody

  constructor(first: ReadableStream<Uint8Array>, declared: ReplayableBody) {
    this.#first = first
    this.#declared = declared
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const first = this.#first
    this.#first = undefined
    if (first !== undefined) return rest([], undefined, first.getReader())
    const again = this.#declared.getBody()
    return again instanceof Uint8Array ? rest([again], undefined, undefined) : rest([], undefined, again.stream().getReader())
  }
}

async function* rest(
  chunks: Uint8Array[],
  pending: Promise<{ done: boolean; value?: Uint8Array | undefined }> | undefined,
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
): AsyncGenerator<Uint8Array> {
  let finished = false
  try {
    yield* chunks
    if (reader !== undefined) {
      let result = await (pending ?? reader.read())
      while (!result.done) {
        yield result.value!
        result = await reader.read()
      }
    }
    finished = true
  } finally {
    // The request failed or was aborted before the body was sent: stop the source.
    if (!finished) await reader?.cancel().catch(() => {})
  }
}
