import { Transform, type TransformCallback } from 'node:stream'
import { ERR_DECODING, TransportError } from './errors.js'
import * as zlib from 'node:zlib'
import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib'

// Output is flushed as input arrives (a reader sees what came so far), but the
// stream must finish: a gzip, deflate or br stream that ends without its end
// marker fails with Z_BUF_ERROR instead of passing as a short body. Node's
// fetch and undici finish leniently (a silent truncation); Go returns
// `unexpected EOF`, and so do we.
const zlibOptions = { flush: constants.Z_SYNC_FLUSH }
const brotliOptions = { flush: constants.BROTLI_OPERATION_FLUSH }
/** zstd's decoder where Node's zlib has one (22.15, 23.8 and later), as Node 24's fetch decodes it; undefined before (the body is passed as sent, as Node 20's fetch does). */
const createZstdDecompress = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress

/**
 * decodingError turns a zlib or brotli failure into the coded error a body
 * fails with: `RT_DECODING_ERROR`, which names the coding and the request.
 */
export function decodingError(error: unknown, contentEncoding: string, what: string): TransportError {
  const code = (error as { code?: string } | null)?.code
  const detail =
    code === 'Z_BUF_ERROR'
      ? 'the stream ended before its end marker (truncated body)'
      : ((error as Error | null)?.message ?? String(error))
  return new TransportError(ERR_DECODING, `cannot decode the ${contentEncoding} response body: ${detail} (${what})`, { cause: error })
}

/**
 * Inflate that accepts both zlib-wrapped deflate (RFC 1950, what the
 * standard says) and raw deflate (RFC 1951, what some servers send), by
 * looking at the first byte, as browsers and Node's fetch do.
 */
class FlexibleInflate extends Transform {
  #inner: Transform | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inner === undefined) {
      const inner = (chunk[0]! & 0x0f) === 0x08 ? createInflate(zlibOptions) : createInflateRaw(zlibOptions)
      inner.on('data', (data: Buffer) => this.push(data))
      inner.on('error', (error) => this.destroy(error))
      this.#inner = inner
    }
    this.#inner.write(chunk, callback)
  }

  override _flush(callback: TransformCallback): void {
    if (this.#inner === undefined) {
      callback()
      return
    }
    this.#inner.once('end', () => callback())
    this.#inner.end()
  }
}

/** The longest chain of content codings decoded; a longer one is refused. */
const MAX_CODINGS = 5

/**
 * createDecoder returns a stream that decodes a body sent with
 * `content-encoding` (gzip, x-gzip, deflate, br, and zstd where Node's zlib
 * has it), or undefined when the
 * coding is absent, identity, or one we do not decode (then the body is
 * passed through as sent, as Node's fetch does). Several codings are
 * decoded in reverse order of application; more than 5 throw
 * `RT_DECODING_ERROR` (`what` names the request).
 */
export function createDecoder(contentEncoding: string | null, what: string): Transform | undefined {
  if (contentEncoding === null) return undefined
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity')
  if (codings.length === 0) return undefined
  // As undici's fetch: a chain of more than 5 codings is refused (a decompression-chain bomb).
  if (codings.length > MAX_CODINGS) {
    throw new TransportError(ERR_DECODING, `too many content-encodings (${codings.length}, at most ${MAX_CODINGS}) (${what})`)
  }
  const decoders: Transform[] = []
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(createGunzip(zlibOptions))
    else if (coding === 'deflate') decoders.push(new FlexibleInflate())
    else if (coding === 'br') decoders.push(createBrotliDecompress(brotliOptions))
    else if (coding === 'zstd' && createZstdDecompress !== undefined) decoders.push(createZstdDecompress())
    else return undefined
  }
  if (decoders.length === 1) return decoders[0]
  // Chain them: write into the first, read from a pass-through fed by the last.
  const head = decoders[0]!
  const tail = decoders[decoders.length - 1]!
  for (let i = 0; i < decoders.length - 1; i++) {
    decoders[i]!.pipe(decoders[i + 1]!)
    decoders[i]!.on('error', (error) => tail.destroy(error))
  }
  return new Transform({
    transform(chunk, _encoding, callback) {
      head.write(chunk, callback)
    },
    flush(callback) {
      tail.once('end', () => callback())
      head.end()
    },
    construct(callback) {
      tail.on('data', (data: Buffer) => this.push(data))
      tail.on('error', (error) => this.destroy(error))
      callback()
    },
  })
}
