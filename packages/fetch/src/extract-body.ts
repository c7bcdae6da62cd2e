import { randomInt } from 'node:crypto'
import { deriveRequest, withReplayableBody, type ReplayableBody } from '@roundtrip/core'

/**
 * replayableBody declares a `fetch` body whose length the fetch standard's
 * "extract a body" knows from its source: a string or `URLSearchParams`
 * (its UTF-8 bytes), an `ArrayBuffer` or view (a copy of its bytes, taken
 * now, as the `Request` takes one), a `Blob`. Other bodies (streams, async
 * iterables) have no declaration. A `FormData` is first encoded with
 * {@link encodeFormData}.
 */
export function replayableBody(body: NonNullable<RequestInit['body']>): ReplayableBody | undefined {
  if (typeof body === 'string') return new StringBody(body)
  if (body instanceof Blob) return new FixedBody(body, body.size)
  if (body instanceof URLSearchParams) return new StringBody(body.toString())
  if (body instanceof ArrayBuffer) return bytesBody(new Uint8Array(body.slice(0)))
  if (ArrayBuffer.isView(body)) {
    return bytesBody(new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer))
  }
  return undefined
}

/** isStream says whether a `fetch` body is a stream of unknown length: a `ReadableStream` or an async iterable. */
export function isStream(body: NonNullable<RequestInit['body']>): boolean {
  return body instanceof ReadableStream || (typeof body === 'object' && Symbol.asyncIterator in body)
}

function bytesBody(bytes: Uint8Array): ReplayableBody {
  return new FixedBody(bytes, bytes.byteLength)
}

// Classes, not object literals with a closure: a declaration is made per
// request with a body, and an instance is one object where a literal and its
// getBody closure are three.

/** FixedBody declares bytes or a Blob, yielded as they are every time. */
class FixedBody implements ReplayableBody {
  readonly length: number
  readonly #body: Uint8Array | Blob
  constructor(body: Uint8Array | Blob, length: number) {
    this.length = length
    this.#body = body
  }
  getBody(): Uint8Array | Blob {
    return this.#body
  }
}

/** StringBody declares a string's UTF-8 bytes, made only if asked for: the Transport reads the Request's own stream. */
class StringBody implements ReplayableBody {
  readonly length: number
  readonly #text: string
  #bytes: Uint8Array | undefined
  constructor(text: string) {
    this.length = Buffer.byteLength(text)
    this.#text = text
  }
  getBody(): Uint8Array {
    return (this.#bytes ??= Buffer.from(this.#text))
  }
}

const CRLF = new Uint8Array([13, 10])
const escape = (s: string): string => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22')
const normalizeLinefeeds = (s: string): string => s.replace(/\r?\n|\r/g, '\r\n')

/**
 * encodeFormData runs the multipart/form-data encoding of `form` (byte for
 * byte as Node's fetch does, with our own boundary) into a `Blob` whose
 * `type` is the `content-type` to send. The Blob references file parts
 * without reading them, knows its size, and yields the same bytes every
 * time: the body is sent with a `content-length` and can be replayed with
 * the boundary its `content-type` names (re-encoding the `FormData` would
 * draw a new one).
 */
export function encodeFormData(form: FormData): Blob {
  const boundary = `----formdata-roundtrip-${String(randomInt(1e11)).padStart(11, '0')}`
  const prefix = `--${boundary}\r\nContent-Disposition: form-data; name="`
  const parts: Array<string | Blob | Uint8Array> = []
  for (const [name, value] of form) {
    const head = `${prefix}${escape(normalizeLinefeeds(name))}"`
    if (typeof value === 'string') {
      parts.push(`${head}\r\n\r\n${normalizeLinefeeds(value)}\r\n`)
    } else {
      const filename = value.name ? `; filename="${escape(value.name)}"` : ''
      parts.push(`${head}${filename}\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`, value, CRLF)
    }
  }
  parts.push(`--${boundary}--\r\n`)
  return new Blob(parts, { type: `multipart/form-data; boundary=${boundary}` })
}

/** The most a Request's body is read ahead to learn its length. */
const MAX_READ_AHEAD = 16 * 1024 * 1024

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(resolve, undefined))
}

/**
 * readRequestBody learns the length of the body of a `Request` given as
 * fetch's input. A `Request` does not expose its body's source, so this is
 * the one place where it is read ahead: the bytes its stream yields without
 * waiting for the event loop (a string, bytes, Blob, URLSearchParams or
 * FormData body yields them so), up to 16 MiB, become a declared body with a
 * `Content-Length`, replayable on a 307/308. A body that makes the reader
 * wait or is larger (a stream) goes on as a stream, chunked, and a 307/308
 * cannot replay it, as with Node's fetch. Pass the body in `init` to have
 * its length known whatever its size.
 */
export async function readRequestBody(request: Request): Promise<Request> {
  const reader = request.body!.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const pending = reader.read()
    const result = size > MAX_READ_AHEAD ? undefined : await Promise.race([pending, nextTurn()])
    if (result === undefined) {
      const init: RequestInit & { duplex: 'half' } = { body: resume(chunks, pending, reader), duplex: 'half' }
      return deriveRequest(request, init)
    }
    if (result.done) {
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
      return withReplayableBody(deriveRequest(request, { body: bytes }), bytesBody(bytes))
    }
    chunks.push(result.value)
    size += result.value.byteLength
  }
}

type ReadResult = { done: true; value?: undefined } | { done: false; value: Uint8Array }

function resume(
  chunks: Uint8Array[],
  pending: Promise<ReadResult>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let next: Promise<ReadResult> | undefined = pending
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks.shift()
      if (chunk !== undefined) return controller.enqueue(chunk)
      const result = await (next ?? reader.read())
      next = undefined
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
