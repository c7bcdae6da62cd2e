import { Readable } from 'node:stream'
import { withContext, withReplayableBody, type ReplayableBody, type RequestContext } from '@roundtrip/core'
import { errors } from 'undici'
import { timeoutContext } from './dispatch-timeouts.js'
import { BridgeError, ERR_INVALID_DISPATCH } from './errors.js'
import { headersFromDispatch, invalidHeaderName, isInvalidHeaderValue, requestHeadersInit, writtenNames, type DispatchHeaders } from './headers.js'

/** Dispatch options as handed to `dispatch()`: undici's, with the looser body and header shapes its callers use. */
export interface DispatchInput {
  origin?: string | URL | undefined
  path: string
  method: string
  headers?: DispatchHeaders
  body?: unknown
  query?: Record<string, unknown> | undefined
  upgrade?: boolean | string | null | undefined
  reset?: boolean | undefined
  headersTimeout?: unknown
  bodyTimeout?: unknown
}

/** describeDispatch names a dispatch for messages: `GET http://host/path`, without credentials. */
export function describeDispatch(options: DispatchInput): string {
  const origin = options.origin === undefined ? '' : String(options.origin).replace(/\/$/, '')
  return `${String(options.method ?? 'GET')} ${origin.replace(/\/\/[^/@]*@/, '//')}${String(options.path ?? '')}`
}

function targetUrl(options: DispatchInput): string {
  if (options.origin === undefined || options.origin === null) throw new TypeError('no origin')
  const path = String(options.path)
  const href = /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : String(options.origin).replace(/\/$/, '') + path
  if (options.query === undefined || options.query === null) return href
  const url = new URL(href)
  for (const [name, value] of Object.entries(options.query)) {
    if (Array.isArray(value)) for (const item of value) url.searchParams.append(name, String(item))
    else if (value !== undefined && value !== null) url.searchParams.append(name, String(value))
  }
  return url.href
}

/** A chunk of a streamed request body as bytes (undici lets iterables yield strings). */
function bytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk)
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw new TypeError(`a request body chunk must be bytes or a string, got ${typeof chunk}`)
}

async function* asBytes(iterable: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of iterable) yield bytes(chunk)
}

type Body = NonNullable<RequestInit['body']>

/**
 * isFormDataLike tells a FormData of another copy of undici (npm undici's,
 * which is not Node's global class) as undici's own `isFormDataLike` does:
 * by its methods and its `Symbol.toStringTag`.
 */
function isFormDataLike(body: object): body is Iterable<[string, string | Blob]> {
  const form = body as Record<string | symbol, unknown>
  return (
    form[Symbol.toStringTag] === 'FormData' &&
    typeof form.append === 'function' &&
    typeof form.getAll === 'function' &&
    typeof form.set === 'function' &&
    typeof form[Symbol.iterator] === 'function'
  )
}

/** A FormData of another undici copied into a global one, which the `Request` encodes as multipart with its length. */
function globalFormData(form: Iterable<[string, string | Blob]>): FormData {
  const copy = new FormData()
  for (const [name, value] of form) copy.append(name, value)
  return copy
}

/**
 * The declaration of a body the dispatch gave whole: its length, and the
 * same bytes again (a class: no closure per request). A string is encoded
 * only if the bytes are asked for again (a resend): the `Request` encodes it
 * once itself.
 */
class DeclaredBody implements ReplayableBody {
  readonly #body: string | Uint8Array | Blob
  readonly length: number

  constructor(body: string | Uint8Array | Blob, length: number) {
    this.#body = body
    this.length = length
  }

  getBody(): Uint8Array | Blob {
    const body = this.#body
    return typeof body === 'string' ? Buffer.from(body) : body
  }
}

/** A request body as the dispatch gave it: whether it is a stream, and its length and bytes when it has them (`declared`). */
interface DispatchBody {
  body: Body | null
  stream: boolean
  declared?: ReplayableBody | undefined
}

function requestBody(body: unknown): DispatchBody {
  if (body === undefined || body === null) return { body: null, stream: false }
  // Bytes (a string as UTF-8) and a Blob have a length, which undici sends as content-length whatever their size: declared, so the RoundTripper knows it too.
  if (typeof body === 'string') return { body, stream: false, declared: new DeclaredBody(body, Buffer.byteLength(body)) }
  if (body instanceof Uint8Array) return { body: body as Body, stream: false, declared: new DeclaredBody(body, body.byteLength) }
  if (body instanceof Blob) return { body, stream: false, declared: new DeclaredBody(body, body.size) }
  if (body instanceof FormData || body instanceof URLSearchParams) return { body, stream: false }
  // Before the iterables: a FormData iterates its entries, not bytes.
  if (typeof body === 'object' && isFormDataLike(body)) return { body: globalFormData(body), stream: false }
  if (body instanceof ReadableStream) return { body, stream: true }
  if (body instanceof Readable || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return { body: ReadableStream.from(asBytes(body as AsyncIterable<unknown>)) as ReadableStream<Uint8Array>, stream: true }
  }
  throw new TypeError(`unsupported request body type ${Object.prototype.toString.call(body)}`)
}

/** 'content-type' when the body is a Blob whose type undici's Client would refuse as that header's value (and no content-type header is given). */
function invalidBlobType(options: DispatchInput): string | undefined {
  const body = options.body
  if (!(body instanceof Blob) || !isInvalidHeaderValue(String(body.type))) return undefined
  const given = headersFromDispatchSafe(options.headers)
  return given?.has('content-type') === true ? undefined : 'content-type'
}

/** The dispatch's headers, or undefined when they are malformed. */
function headersFromDispatchSafe(input: DispatchHeaders): Headers | undefined {
  try {
    return headersFromDispatch(input)
  } catch {
    return undefined
  }
}

/** The context of a bridged request: its body as sent (the dispatch's caller decodes it). */
const AS_SENT = Object.freeze({ decompress: false })
/** …and, for a stream or iterable body, that its length is unknown: sent as it comes, as Node's fetch sends it, not read ahead. */
const STREAMED = Object.freeze({ decompress: false, streamedBody: true })

/**
 * requestFromDispatch builds the WHATWG `Request` for a dispatch: the URL
 * from `origin`, `path` and `query`; the headers in any of undici's shapes;
 * the body (a string, bytes, a Blob, a FormData of any copy of undici, a
 * stream or any iterable), streamed when it is one, declared (core's
 * `withReplayableBody`) when it is a string, bytes or a Blob, so that it
 * goes out with its `content-length` whatever its size, as undici sends it,
 * and can be sent again on a stale connection; `reset` as
 * `connection: close`. The request asks
 * for the body as sent (`decompress: false` in its context): a dispatcher's
 * callers (Node's fetch, `undici.request`) decode it themselves. A stream or
 * iterable body is declared one (`streamedBody: true`): the RoundTripper
 * sends it as it comes (chunked, or with the dispatch's `content-length`),
 * as undici would, instead of reading it ahead. Header names written with
 * an upper-case letter are sent in the case written (the context's
 * `headerNames`), as undici sends them. The dispatch's own `headersTimeout`
 * and `bodyTimeout` go in the context as `responseHeaderTimeout` and
 * `bodyTimeout` (see {@link timeoutContext}).
 *
 * @throws undici's `InvalidArgumentError` for an invalid `headersTimeout`
 * or `bodyTimeout`, as undici's own `Request`, and (`invalid <name>
 * header`) for a header value with a CR, LF or another control character
 * undici's Client refuses (a Blob body's type as `content-type` too), and
 * for an iterable of headers that yields anything but pairs, as that
 * Client does.
 * @throws BridgeError `RT_INVALID_DISPATCH` naming the dispatch, with the
 * `Request` constructor's error as `cause` (a forbidden method such as
 * `TRACE`, a body on GET or HEAD, another invalid header).
 */
export function requestFromDispatch(options: DispatchInput): Request {
  // Checked first, and refused as undici refuses them (its InvalidArgumentError, not ours).
  const limits = timeoutContext(options)
  try {
    const url = targetUrl(options)
    let headers = requestHeadersInit(options.headers)
    if (options.reset === true) {
      headers = new Headers(headers)
      headers.set('connection', 'close')
    }
    const method = String(options.method ?? 'GET')
    const { body, stream, declared } = requestBody(options.body)
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body, redirect: 'manual' }
    if (stream) init.duplex = 'half'
    // The case the dispatch wrote its header names in, sent so (a Request's Headers keep lower case only).
    const headerNames = writtenNames(options.headers)
    let context: RequestContext = headerNames === undefined ? (stream ? STREAMED : AS_SENT) : { ...(stream ? STREAMED : AS_SENT), headerNames }
    if (limits !== undefined) context = { ...context, ...limits }
    const request = withContext(new Request(url, init), context)
    return declared === undefined ? request : withReplayableBody(request, declared)
  } catch (error) {
    // undici's Client refuses a header value with a CR or LF (request smuggling) with InvalidArgumentError, sending nothing; the
    // Request refused it too, with its own TypeError: the dispatch is searched for it only now, so a valid one pays nothing.
    if (error instanceof errors.InvalidArgumentError) throw error
    const invalid = invalidHeaderName(options.headers as DispatchHeaders) ?? invalidBlobType(options)
    if (invalid !== undefined) throw new errors.InvalidArgumentError(`invalid ${invalid} header`)
    const reason = error instanceof Error ? error.message : String(error)
    throw new BridgeError(ERR_INVALID_DISPATCH, `toDispatcher: cannot make a Request of ${describeDispatch(options)}: ${reason}`, { cause: error })
  }
}
