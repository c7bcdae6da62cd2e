import { ERR_INVALID_RESPONSE, ERR_INVALID_STATUS, RoundTripError } from './errors.js'
import type { TrackedSource } from './internal.js'

/** ResponseBodyInit is what `new Response(body)` accepts. */
export type ResponseBodyInit = ConstructorParameters<typeof Response>[0]

/**
 * TrackedBody is a response body made by `createBody`: pass it to
 * {@link createResponse}. Its bytes are read straight from the producer by
 * `text()`, `json()`, `arrayBuffer()`, `bytes()` and `blob()`; a
 * `ReadableStream` is only created when `response.body` is used.
 */
export interface TrackedBody {
  /** @internal */
  readonly source: TrackedSource
}

/** ResponseType is the type of `response.type`. */
export type ResponseType = Response['type']

const kInfo = Symbol('roundtrip.responseInfo')
const kTracked = Symbol('roundtrip.trackedBody')

interface Info {
  url: string
  redirected: boolean
  type: ResponseType | undefined
}

/** The per-response state of a tracked body. */
interface Tracked {
  source: TrackedSource
  stream: ReadableStream<Uint8Array> | undefined
  used: boolean
}

/** ResponseInfo is what {@link createResponse} takes: a `ResponseInit` plus the fields a transport sets. */
export interface ResponseInfo extends ResponseInit {
  /** The URL the response came from (`response.url`); empty when unknown. */
  url?: string
  /** Whether the response is the result of following redirects (`response.redirected`). */
  redirected?: boolean
  /** `response.type`; Node's fetch gives `basic` to network responses. Default: what `Response` gives (`default`). */
  type?: ResponseType
}

function isTrackedBody(body: unknown): body is TrackedBody {
  return typeof body === 'object' && body !== null && (body as { [kTracked]?: true })[kTracked] === true
}

/** @internal Wraps a source as a TrackedBody. */
export function trackedBody(source: TrackedSource): TrackedBody {
  return { source, [kTracked]: true } as TrackedBody
}

/**
 * RoundTripResponse is a WHATWG `Response` whose `url` and `redirected` are
 * set by the layer that built it, as Node's fetch sets them. It is an
 * `instanceof Response` for Node's global class, and `clone()` keeps `url`,
 * `redirected` and the class. Build one with {@link createResponse}.
 *
 * When its body is a {@link TrackedBody}, the body methods read the bytes
 * directly and `body` creates its stream on first access; behaviour is the
 * same as a `Response`'s, at a fraction of the cost. (Calling
 * `Response.prototype.text.call(response)` bypasses this and sees no body.)
 */
export class RoundTripResponse extends Response {
  declare [kInfo]: Info
  declare [kTracked]: Tracked | undefined

  constructor(body: ResponseBodyInit | TrackedBody, init: ResponseInfo) {
    if (isTrackedBody(body)) {
      super(null, init)
      this[kTracked] = { source: body.source, stream: undefined, used: false }
      body.source.retain(this)
    } else {
      super(body, init)
      this[kTracked] = undefined
    }
    this[kInfo] = { url: init.url ?? '', redirected: init.redirected === true, type: init.type }
  }

  /** Clones the response as `Response.clone()` does, keeping `url`, `redirected` and the class. */
  declare clone: () => RoundTripResponse
}

const base = Response.prototype
const baseType = Object.getOwnPropertyDescriptor(base, 'type')!.get!
const baseBody = Object.getOwnPropertyDescriptor(base, 'body')!.get!
const baseBodyUsed = Object.getOwnPropertyDescriptor(base, 'bodyUsed')!.get!
const utf8 = new TextDecoder()

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

function streamOf(response: RoundTripResponse, tracked: Tracked): ReadableStream<Uint8Array> {
  if (tracked.stream === undefined) {
    // The body counts as used from its first read or cancel, as `isDisturbed` has it.
    const stream = tracked.source.openStream(response, () => {
      // After clone() the response reads a tee branch instead; the tee's reads are not the user's.
      if (tracked.stream === stream) tracked.used = true
    })
    tracked.stream = stream
  }
  return tracked.stream
}

async function allChunks(response: RoundTripResponse, tracked: Tracked): Promise<Uint8Array[]> {
  if (tracked.used) throw unusable()
  tracked.used = true
  if (tracked.stream === undefined) return tracked.source.readAll()
  if (tracked.stream.locked) throw unusable()
  const chunks: Uint8Array[] = []
  const reader = tracked.stream.getReader()
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

async function viaResponse(response: RoundTripResponse, tracked: Tracked): Promise<Response> {
  const bytes = concat(await allChunks(response, tracked))
  return new Response(bytes, { headers: response.headers })
}

const methods = {
  text(this: RoundTripResponse): Promise<string> {
    const tracked = this[kTracked]
    if (tracked === undefined) return base.text.call(this)
    return allChunks(this, tracked).then((chunks) => utf8.decode(concat(chunks)))
  },
  json(this: RoundTripResponse): Promise<unknown> {
    const tracked = this[kTracked]
    if (tracked === undefined) return base.json.call(this)
    return allChunks(this, tracked).then((chunks) => JSON.parse(utf8.decode(concat(chunks))))
  },
  arrayBuffer(this: RoundTripResponse): Promise<ArrayBuffer> {
    const tracked = this[kTracked]
    if (tracked === undefined) return base.arrayBuffer.call(this)
    return allChunks(this, tracked).then((chunks) => owned(chunks).buffer as ArrayBuffer)
  },
  bytes(this: RoundTripResponse): Promise<Uint8Array> {
    const tracked = this[kTracked]
    if (tracked === undefined) return (base as unknown as { bytes(): Promise<Uint8Array> }).bytes.call(this)
    return allChunks(this, tracked).then(owned)
  },
  blob(this: RoundTripResponse): Promise<Blob> {
    const tracked = this[kTracked]
    if (tracked === undefined) return base.blob.call(this)
    return viaResponse(this, tracked).then((r) => r.blob())
  },
  formData(this: RoundTripResponse): Promise<FormData> {
    const tracked = this[kTracked]
    if (tracked === undefined) return base.formData.call(this)
    return viaResponse(this, tracked).then((r) => r.formData())
  },
  clone(this: RoundTripResponse): RoundTripResponse {
    const tracked = this[kTracked]
    if (tracked === undefined) {
      const copy = base.clone.call(this) as RoundTripResponse
      Object.setPrototypeOf(copy, RoundTripResponse.prototype)
      copy[kInfo] = this[kInfo]
      copy[kTracked] = undefined
      return copy
    }
    if (tracked.used || tracked.stream?.locked === true) throw new TypeError('Response.clone: Body has already been consumed.')
    const [a, b] = streamOf(this, tracked).tee()
    tracked.stream = a
    const copy = Object.setPrototypeOf(
      new Response(null, { status: this.status, statusText: this.statusText, headers: this.headers }),
      RoundTripResponse.prototype,
    ) as RoundTripResponse
    copy[kInfo] = this[kInfo]
    copy[kTracked] = { source: tracked.source, stream: b, used: false }
    tracked.source.retainClone(this, copy)
    return copy
  },
}
if (typeof (base as { bytes?: unknown }).bytes !== 'function') delete (methods as { bytes?: unknown }).bytes
for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(RoundTripResponse.prototype, name, { value: fn, writable: true, configurable: true, enumerable: true })
}

// `url`, `redirected`, `body` and `bodyUsed` are accessors on
// Response.prototype; TypeScript types them as properties, so the overriding
// accessors are defined here.
Object.defineProperties(RoundTripResponse.prototype, {
  url: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kInfo].url
    },
  },
  redirected: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kInfo].redirected
    },
  },
  type: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kInfo].type ?? baseType.call(this)
    },
  },
  body: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      const tracked = this[kTracked]
      return tracked === undefined ? baseBody.call(this) : streamOf(this, tracked)
    },
  },
  bodyUsed: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      const tracked = this[kTracked]
      return tracked === undefined ? baseBodyUsed.call(this) : tracked.used
    },
  },
})

/**
 * withResponseInfo returns `response` with `url`, `redirected` (and `type`) replaced,
 * as a fetch layer does after following redirects. A
 * {@link RoundTripResponse} is updated in place and returned (its clones made
 * before keep their values); any other response is re-wrapped in a
 * RoundTripResponse over the same body stream (nothing is copied). The
 * caller must own the response.
 */
export function withResponseInfo(response: Response, info: { url?: string; redirected?: boolean; type?: ResponseType }): Response {
  if (response instanceof RoundTripResponse) {
    const current = response[kInfo]
    response[kInfo] = {
      url: info.url ?? current.url,
      redirected: info.redirected ?? current.redirected,
      type: info.type ?? current.type,
    }
    return response
  }
  return new RoundTripResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    url: info.url ?? response.url,
    redirected: info.redirected ?? response.redirected,
    ...(info.type !== undefined ? { type: info.type } : response.type === 'default' ? {} : { type: response.type }),
  })
}

/** @internal The tracked source of a response made by createResponse, if any. */
export function trackedSourceOf(response: Response): TrackedSource | undefined {
  return (response as RoundTripResponse)[kTracked]?.source
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

/**
 * isNullBodyStatus reports whether a response with this status never has a
 * body (204, 205, 304, and the 1xx statuses that reach a response).
 */
export function isNullBodyStatus(status: number): boolean {
  return NULL_BODY_STATUS.has(status)
}

/**
 * createResponse builds a {@link RoundTripResponse}: a real `Response` with
 * `url` and `redirected` set. `body` is anything `new Response()` takes, or
 * a {@link TrackedBody} from `createBody`.
 *
 * @throws RoundTripError `RT_INVALID_STATUS` when `status` is not an integer
 * in 200–599 (what a `Response` can represent), and `RT_INVALID_RESPONSE`
 * when a body is given with a null-body status (204, 205, 304). The message
 * names the URL.
 *
 * @example
 * ```ts
 * const { body, sink } = createBody(producer)
 * const response = createResponse(body, { status: 200, headers, url: request.url })
 * ```
 */
export function createResponse(body: ResponseBodyInit | TrackedBody, info: ResponseInfo): RoundTripResponse {
  const status = info.status ?? 200
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RoundTripError(
      ERR_INVALID_STATUS,
      `invalid response status ${String(status)}: a Response can only have a status from 200 to 599${info.url ? ` (${info.url})` : ''}`,
    )
  }
  if (body !== null && body !== undefined && isNullBodyStatus(status)) {
    throw new RoundTripError(
      ERR_INVALID_RESPONSE,
      `a response with status ${status} cannot have a body${info.url ? ` (${info.url})` : ''}`,
    )
  }
  return new RoundTripResponse(body, info)
}
