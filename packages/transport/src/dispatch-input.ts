import { Readable } from 'node:stream'
import { errors } from 'undici'
import { tagBodyErrors, watchBodyErrors } from './errors-map.js'
import { requestLabel } from './errors.js'
import { finishOutgoing, lowerCase, pushOutgoing, type OutgoingHeaders } from './headers.js'
import type { ResolvedOptions } from './resolve-options.js'

// What an undici dispatch hands the Transport's direct path (direct-port.ts):
// the handler and options it reads, and their conversion into what a conn's
// undici Client is asked to send.

/** The handler of an undici dispatch, legacy generation (what Node 20/22/24's fetch and `undici.request` pass). */
export interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void): void
  onResponseStarted?(): void
  onHeaders?(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean
  onData?(chunk: Buffer): boolean
  onComplete?(trailers: Buffer[] | string[] | null): void
  onError?(error: Error): void
  onRequestSent?(): void
  onBodySent?(chunk: unknown): void
  onRequestStart?: unknown
}

/** An undici dispatch's options, as far as this path reads them. */
export interface DirectInput {
  origin?: unknown
  path?: unknown
  method?: unknown
  headers?: unknown
  body?: unknown
  query?: unknown
  upgrade?: unknown
  reset?: unknown
  headersTimeout?: unknown
  bodyTimeout?: unknown
}

/** What the conn's Client is asked to send. */
export interface DirectRequest {
  path: string
  method: string
  headers: string[]
  body: unknown
  query: unknown
  reset: boolean
  blocking: boolean
}

/** A dispatch's body as the conn's Client takes it, and whether it can be sent again. */
export interface DirectBody {
  readonly body: unknown
  readonly replayable: boolean
}

/** The body of every dispatch without one (most of them): one object, not one per dispatch. */
export const NO_BODY: DirectBody = Object.freeze({ body: null, replayable: true })

/** The body as the conn's Client takes it, with whether it can be sent again; undefined for bodies this path leaves to roundTrip. */
export function directBody(body: unknown, method: string, href: string): DirectBody | undefined {
  if (body === undefined || body === null) return NO_BODY
  if (typeof body === 'string') return { body: Buffer.from(body), replayable: true }
  if (Buffer.isBuffer(body)) return { body, replayable: true }
  if (ArrayBuffer.isView(body)) return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), replayable: true }
  // A stream undici reads with back-pressure; it and an async iterable (Node's fetch hands one) are watched so their failure is RT_REQUEST_BODY_ERROR.
  if (body instanceof Readable) return { body: watchBodyErrors(body), replayable: false }
  if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return { body: tagBodyErrors(body as AsyncIterable<Uint8Array>, requestLabel(method, href)), replayable: false }
  }
  return undefined
}

/** A header name or value of a dispatch as a string (undici takes latin1 Buffers too). */
function text(raw: unknown): string {
  return typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw)
}

/** pushHeader adds one header of a dispatch (a value may be a list; undefined and null are left out) to the head; returns what pushOutgoing saw. */
function pushHeader(list: string[], name: unknown, value: unknown): number {
  if (value === undefined || value === null) return 0
  const written = text(name)
  if (!Array.isArray(value)) return pushWritten(list, written, text(value))
  let seen = 0
  for (const item of value) seen |= pushWritten(list, written, text(item))
  return seen
}

/**
 * pushWritten is pushOutgoing for a name as the dispatch wrote it: read in
 * lower case, sent in the case written, as undici's Client sends it (some
 * servers compare names case-sensitively; Node's fetch hands the case its
 * caller wrote). An HTTP/2 stream sends it in lower case (h2-wire.ts).
 */
function pushWritten(list: string[], written: string, value: string): number {
  const key = lowerCase(written)
  const at = list.length
  const seen = pushOutgoing(list, key, value)
  if (key !== written && list.length > at) list[at] = written
  return seen
}

/**
 * dispatchHeaders makes the request head of a dispatch (outgoingHeaders'
 * rules, without decompression: the dispatcher's caller decodes) from any
 * shape undici takes: a record (Node's fetch hands one), a flat `[name,
 * value, …]` list of strings or latin1 Buffers, `[name, value]` pairs, or an
 * iterable of pairs (throws undici's `InvalidArgumentError` when one is not
 * a pair). Names are sent in the case written. It goes through the
 * headers once, with no pair made per header.
 */
export function dispatchHeaders(input: unknown, options: ResolvedOptions): OutgoingHeaders {
  const list: string[] = []
  let seen = 0
  if (input === undefined || input === null) {
    // none
  } else if (Array.isArray(input)) {
    if (input.length > 0 && Array.isArray(input[0])) for (const pair of input as unknown[][]) seen |= pushHeader(list, pair[0], pair[1])
    else for (let i = 0; i < input.length; i += 2) seen |= pushHeader(list, input[i], input[i + 1])
  } else if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function' && ownIterator(input as object)) {
    for (const pair of input as Iterable<unknown>) {
      // Refused as undici's Client refuses it (a string would be read as a name and a value, a character each).
      if (!Array.isArray(pair) || pair.length !== 2) throw new errors.InvalidArgumentError('headers must be in key-value pair format')
      seen |= pushHeader(list, pair[0], pair[1])
    }
  } else {
    // A record (Node's fetch hands one, its names in lower case, its values strings): a string value goes straight to pushOutgoing.
    const record = input as Record<string, unknown>
    for (const name in record) {
      const value = record[name]
      seen |= typeof value === 'string' ? pushWritten(list, name, value) : pushHeader(list, name, value)
    }
  }
  return finishOutgoing(list, seen, options, false)
}

/**
 * ownIterator says whether `input`'s iterator is its own or its class's, as
 * undici's `hasSafeIterator`: a plain object is a record even when
 * `Object.prototype` was given an iterator (a polluted prototype must not
 * make a record's headers vanish).
 */
function ownIterator(input: object): boolean {
  if (Object.prototype.hasOwnProperty.call(input, Symbol.iterator)) return true
  const prototype = Object.getPrototypeOf(input) as object | null
  return prototype !== null && prototype !== Object.prototype
}

/** latin1Buffers makes header strings (`[name, value, …]`, an HTTP/2 stream's) the latin1 Buffers a legacy undici handler takes. */
export function latin1Buffers(pairs: string[]): Buffer[] {
  const raw: Buffer[] = new Array(pairs.length)
  for (let i = 0; i < pairs.length; i++) raw[i] = Buffer.from(pairs[i]!, 'latin1')
  return raw
}
