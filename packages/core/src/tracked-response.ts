// The consumer's side of a RoundTripResponse over a tracked body: the body
// methods that read the source directly, `body`/`bodyUsed`, and clone().
// response.ts installs them on RoundTripResponse.prototype.
import { teeBody } from './body-tee.js'
import {
  fieldsOf,
  kRawHeaders,
  kRedirected,
  kSource,
  kStream,
  kType,
  kUrl,
  kUsed,
  setFields,
  writableFields,
  type ResponseFields,
  type TrackedSource,
} from './internal.js'

/** A Response as this file sees it: a RoundTripResponse's, with its fields. */
interface Holder extends Response, ResponseFields {}

const base = Response.prototype as Response & { bytes?: () => Promise<Uint8Array> }
const baseBody = Object.getOwnPropertyDescriptor(base, 'body')!.get!
const baseBodyUsed = Object.getOwnPropertyDescriptor(base, 'bodyUsed')!.get!
const baseHeaders = Object.getOwnPropertyDescriptor(base, 'headers')!.get! as (this: Response) => Headers

const baseAppend = Headers.prototype.append

/**
 * The prototype of a fetched response's headers: `append`, `set` and
 * `delete` throw `TypeError('immutable')`, as Node's fetch's do (the Fetch
 * standard's "immutable" guard, which Response's constructor cannot set).
 * The object stays a genuine `Headers` (its own slots, `instanceof
 * Headers`, every other method); named `Headers` so that it inspects as one.
 */
const ImmutableHeaders = { Headers: class extends Headers {} }.Headers
const refusals = {
  append(): never {
    throw immutable()
  },
  set(): never {
    throw immutable()
  },
  delete(): never {
    throw immutable()
  },
}
for (const [name, fn] of Object.entries(refusals)) {
  Object.defineProperty(ImmutableHeaders.prototype, name, { value: fn, writable: true, configurable: true, enumerable: true })
}

// Node's fetch gives its immutable headers a plain Headers' prototype: `constructor` is Headers
// (`new headers.constructor(init)` makes a Headers that can be changed), as a copy expects.
Object.defineProperty(ImmutableHeaders.prototype, 'constructor', { value: Headers, writable: true, configurable: true, enumerable: false })

function immutable(): TypeError {
  return new TypeError('immutable')
}

/**
 * The `Headers` of `response`, with the pairs given as `rawHeaders` appended
 * on first use. Response's own methods read its header list directly
 * (`blob()`'s type, `formData()`'s boundary, `clone()`): they are called
 * after this. A response with a `type` other than `default` came from a
 * fetch (Response's constructor only makes `default` ones), so its headers
 * are immutable, as Node's fetch makes them; the prototype is set on first
 * read, so a response whose headers nobody reads pays nothing. A `Headers`
 * the user froze keeps its prototype.
 */
export function headersOf(response: Holder): Headers {
  const headers = baseHeaders.call(response)
  const raw = fieldsOf(response)[kRawHeaders]
  if (raw !== undefined) {
    writableFields(response)[kRawHeaders] = undefined
    appendRaw(headers, raw)
  }
  const type = response[kType]
  if (type !== undefined && type !== 'default' && !(headers instanceof ImmutableHeaders)) Reflect.setPrototypeOf(headers, ImmutableHeaders.prototype)
  return headers
}

/** Appends a flat `[name, value, …]` list to `headers` (Headers' own append: `headers` may be immutable already), leaving out a pair Headers refuses. */
export function appendRaw(headers: Headers, raw: readonly string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    try {
      baseAppend.call(headers, raw[i]!, raw[i + 1]!)
    } catch {
      // A name or value Headers refuses: left out (see ResponseInfo.rawHeaders).
    }
  }
}
const utf8 = new TextDecoder()

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

function streamOf(response: Holder, source: TrackedSource): ReadableStream<Uint8Array> {
  let stream = fieldsOf(response)[kStream]
  if (stream === undefined) {
    // The body counts as used from its first read or cancel, as `isDisturbed` has it.
    const opened = source.openStream(response, () => {
      // After clone() the response reads a tee branch instead; the tee's reads are not the user's.
      if (fieldsOf(response)[kStream] === opened) writableFields(response)[kUsed] = true
    })
    writableFields(response)[kStream] = stream = opened
  }
  return stream
}

/**
 * Every chunk of the body, for text() & co.: at once when the producer has
 * ended (the common case for a small body: its response resolves after its
 * last bytes came), else as a promise.
 */
function allChunks(response: Holder, source: TrackedSource): Uint8Array[] | Promise<Uint8Array[]> {
  const fields = writableFields(response)
  if (fields[kUsed]) return Promise.reject(unusable())
  fields[kUsed] = true
  const stream = fields[kStream]
  if (stream === undefined) return source.readAllNow?.() ?? source.readAll()
  if (stream.locked) return Promise.reject(unusable())
  return readStream(stream)
}

/**
 * `read` applied to every chunk of the body, as a promise: with the chunks
 * at hand, a settled one (no reaction, closure or microtask hop more per
 * call); `read` is a function of this module, not a closure per call.
 */
function readBody<T>(response: Holder, source: TrackedSource, read: (chunks: Uint8Array[]) => T): Promise<T> {
  const chunks = allChunks(response, source)
  if (!Array.isArray(chunks)) return chunks.then(read)
  try {
    return Promise.resolve(read(chunks))
  } catch (error) {
    return Promise.reject(error)
  }
}

const asText = (chunks: Uint8Array[]): string => utf8.decode(concat(chunks))
const asJson = (chunks: Uint8Array[]): unknown => JSON.parse(utf8.decode(concat(chunks)))
const asArrayBuffer = (chunks: Uint8Array[]): ArrayBuffer => owned(chunks).buffer as ArrayBuffer

async function readStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return chunks
    chunks.push(value)
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  let size = 0
  for (const c of chunks) size += c.byteLength
  const out = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

/** A copy that owns its memory: chunks may be views on larger socket buffers. */
function owned(chunks: Uint8Array[]): Uint8Array {
  const joined = concat(chunks)
  if (joined !== chunks[0]) return joined
  // A Buffer's slice() is a view; copy into a plain Uint8Array of its own.
  const copy = new Uint8Array(joined.byteLength)
  copy.set(joined)
  return copy
}

function viaResponse(response: Holder, source: TrackedSource): Promise<Response> {
  return readBody(response, source, (chunks) => new Response(concat(chunks), { headers: response.headers }))
}

/** The body methods of RoundTripResponse: each reads a tracked body directly, or defers to Response's. */
export const bodyMethods = {
  text(this: Holder): Promise<string> {
    const source = this[kSource]
    if (source === undefined) return base.text.call(this)
    return readBody(this, source, asText)
  },
  json(this: Holder): Promise<unknown> {
    const source = this[kSource]
    if (source === undefined) return base.json.call(this)
    return readBody(this, source, asJson)
  },
  arrayBuffer(this: Holder): Promise<ArrayBuffer> {
    const source = this[kSource]
    if (source === undefined) return base.arrayBuffer.call(this)
    return readBody(this, source, asArrayBuffer)
  },
  bytes(this: Holder): Promise<Uint8Array> {
    const source = this[kSource]
    if (source === undefined) return base.bytes!.call(this)
    return readBody(this, source, owned)
  },
  blob(this: Holder): Promise<Blob> {
    const source = this[kSource]
    if (source === undefined) {
      headersOf(this)
      return base.blob.call(this)
    }
    return viaResponse(this, source).then((r) => r.blob())
  },
  formData(this: Holder): Promise<FormData> {
    const source = this[kSource]
    if (source === undefined) {
      headersOf(this)
      return base.formData.call(this)
    }
    return viaResponse(this, source).then((r) => r.formData())
  },
  clone(this: Holder): Response {
    const source = this[kSource]
    const proto: object = Object.getPrototypeOf(this)
    if (source === undefined) {
      headersOf(this)
      const copy: Holder = Object.setPrototypeOf(base.clone.call(this), proto)
      setFields(copy, undefined, undefined, this[kUrl], this[kRedirected], this[kType], undefined)
      return copy
    }
    const fields = fieldsOf(this)
    if (fields[kUsed] || fields[kStream]?.locked === true) throw new TypeError('Response.clone: Body has already been consumed.')
    // A branch speaks for its response while it is that response's stream
    // (a later clone() tees it again, and the new tee's reads are not the user's).
    const branches = teeBody(streamOf(this, source), (branch) => {
      const owner = branch === 0 ? this : copy
      if (fieldsOf(owner)[kStream] === branches[branch]) writableFields(owner)[kUsed] = true
    })
    writableFields(this)[kStream] = branches[0]
    const copy: Holder = Object.setPrototypeOf(
      new Response(null, { status: this.status, statusText: this.statusText, headers: this.headers }),
      proto,
    )
    setFields(copy, source, branches[1], this[kUrl], this[kRedirected], this[kType], undefined)
    source.retainClone(this, copy)
    return copy
  },
}
if (typeof base.bytes !== 'function') delete (bodyMethods as Partial<typeof bodyMethods>).bytes

/** The `body` and `bodyUsed` accessors of RoundTripResponse. */
export const bodyAccessors = {
  body: {
    configurable: true,
    enumerable: true,
    get(this: Holder): ReadableStream<Uint8Array> | null {
      const source = this[kSource]
      return source === undefined ? baseBody.call(this) : streamOf(this, source)
    },
  },
  bodyUsed: {
    configurable: true,
    enumerable: true,
    get(this: Holder): boolean {
      return this[kSource] === undefined ? baseBodyUsed.call(this) : fieldsOf(this)[kUsed]
    },
  },
} satisfies PropertyDescriptorMap
