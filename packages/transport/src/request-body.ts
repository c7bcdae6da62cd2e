/** What the Transport sends as a request body. */
export interface OutgoingBody {
  /** A Buffer when the whole body was available at once (replayable), an async iterable otherwise, or null. */
  body: Buffer | AsyncIterable<Uint8Array> | null
  /** Whether the body can be sent again (absent or fully buffered), for the stale-connection retry. */
  replayable: boolean
}

/** The outgoing body of a request without one. */
export const NO_BODY: OutgoingBody = { body: null, replayable: true }
/** Largest body buffered to send it with a `content-length`; larger ones stream. */
const MAX_BUFFERED = 1024 * 1024

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(resolve, undefined))
}

/**
 * prepareBody takes the body of `request`. Bytes that are available at once
 * (a string, a buffer, a Blob, a URLSearchParams or FormData body: the
 * `Request` makes them available within microtasks) are collected so the
 * body goes out with a `content-length` and can be replayed on a stale
 * connection. A body that makes the reader wait a turn of the event loop
 * (a user's `ReadableStream`) is streamed as it comes, chunked.
 */
export async function prepareBody(request: Request): Promise<OutgoingBody> {
  const stream = request.body
  if (stream === null) return NO_BODY
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const pending = reader.read()
    if (size > MAX_BUFFERED) return { body: rest(chunks, pending, reader), replayable: false }
    const result = await Promise.race([pending, nextTurn()])
    if (result === undefined) return { body: rest(chunks, pending, reader), replayable: false }
    if (result.done) {
      if (size === 0) return { body: Buffer.alloc(0), replayable: true }
      const first = chunks[0]!
      const body = chunks.length === 1 ? Buffer.from(first.buffer, first.byteOffset, first.byteLength) : Buffer.concat(chunks, size)
      return { body, replayable: true }
    }
    chunks.push(result.value)
    size += result.value.byteLength
  }
}

async function* rest(
  chunks: Uint8Array[],
  pending: Promise<{ done: boolean; value?: Uint8Array | undefined }>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let finished = false
  try {
    yield* chunks
    let result = await pending
    while (!result.done) {
      yield result.value!
      result = await reader.read()
    }
    finished = true
  } finally {
    // The request failed or was aborted before the body was sent: stop the source.
    if (!finished) await reader.cancel().catch(() => {})
  }
}
