import { ERR_INVALID_RESPONSE, ERR_INVALID_STATUS, RoundTripError } from './errors.js'
import { kRawHeaders, kRedirected, kSource, kStream, kTrackedBody, kType, kUrl, kUsed, setFields, type TrackedSource } from './internal.js'
import { appendRaw, bodyAccessors, bodyMethods, headersOf } from './tracked-response.js'
import type { BodyHold } from './body-hold.js'

/** Where a response without a body keeps the hold its producer declared (shared by copies of core). */
const kHold: unique symbol = Symbol.for('@roundtrip/core.response.hold.v1')

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

/** ResponseInfo is what {@link createResponse} takes: a `ResponseInit` plus the fields a transport sets. */
export interface ResponseInfo extends ResponseInit {
  /** The URL the response came from (`response.url`); empty when unknown. */
  url?: string
  /** Whether the response is the result of following redirects (`response.redirected`). */
  redirected?: boolean
  /**
   * `response.type`; Node's fetch gives `basic` to network responses.
   * Default: what `Response` gives (`default`). Any other type makes the
   * headers immutable, as a fetched response's: `set`, `append` and `delete`
   * on `response.headers` throw `TypeError('immutable')`.
   */
  type?: ResponseType
  /**
   * More headers, as a flat `[name, value, name, value, …]` list (undici's
   * `rawHeaders`, decoded): appended in this order, after `headers`, as
   * `Headers.append` would, when `response.headers` is first read. A
   * response whose headers nobody reads never pays for building them (a
   * `Headers.append` each). A pair `Headers` refuses is left out, as it
   * could only be reported by the `headers` getter. The list is kept, not
   * copied: do not change it afterwards.
   */
  rawHeaders?: readonly string[]
  /**
   * For a response without a body (`null`, as for `HEAD`, 204 and 304):
   * what the connection it came over is, as `bodyHold(response)` returns it
   * (a body declares its own, `BodySink.hold`; this is ignored with one).
   * Kept, not copied, and returned as it is: pass a frozen object shared by
   * many responses (the Transport keeps two per pool, reused or not), so a
   * response pays nothing for it.
   */
  hold?: Readonly<BodyHold> | undefined
}

function isTrackedBody(body: unknown): body is TrackedBody {
  return typeof body === 'object' && body !== null && kTrackedBody in body
}

/**
 * RoundTripResponse is a WHATWG `Response` whose `url` and `redirected` are
 * set by the layer that built it, as Node's fetch sets them. It is an
 * `instanceof Response` for Node's global class, and `clone()` keeps `url`,
 * `redirected` and the class. Build one with {@link createResponse}.
 *
 * When its body is a {@link TrackedBody}, the body methods read the bytes
 * directly and `body` creates its stream on first access; behaviour is the
 * same as a `Response`'s, at a fraction of the cost. Call its methods, not
 * `Response.prototype`'s: `Response.prototype.text.call(response)` (or
 * `blob`, `clone` and the other body methods) bypasses this and sees no
 * body, and `Response.prototype.clone.call(response)` or
 * `Response.prototype.blob.call(response)` misses the `rawHeaders` not yet
 * appended (no one read `headers` before).
 * Like a `Response`, it can still be read once frozen. Its headers are
 * immutable when its `type` is not `default` (see {@link ResponseInfo.type}).
 */
export class RoundTripResponse extends Response {
  declare [kSource]: TrackedSource | undefined
  declare [kStream]: ReadableStream<Uint8Array> | undefined
  declare [kUsed]: boolean
  declare [kUrl]: string
  declare [kRedirected]: boolean
  declare [kType]: ResponseType | undefined
  declare [kRawHeaders]: readonly string[] | undefined
  declare [kHold]: Readonly<BodyHold> | undefined

  constructor(body: ResponseBodyInit | TrackedBody, init: ResponseInfo) {
    const raw = init.rawHeaders !== undefined && init.rawHeaders.length > 0 ? init.rawHeaders : undefined
    const url = init.url ?? ''
    const redirected = init.redirected === true
    if (isTrackedBody(body)) {
      super(null, responseInit(init.status, init.statusText, init.headers))
      setFields(this, body.source, undefined, url, redirected, init.type, raw)
      this[kHold] = undefined
      body.source.retain(this)
    } else {
      // A body of its own may add a content-type unless the headers have one: they go in first.
      const given = body !== null && body !== undefined
      super(body, responseInit(init.status, init.statusText, raw === undefined || !given ? init.headers : withRaw(init.headers, raw)))
      setFields(this, undefined, undefined, url, redirected, init.type, given ? undefined : raw)
      this[kHold] = given ? undefined : init.hold
    }
  }

  /** Clones the response as `Response.clone()` does, keeping `url`, `redirected` and the class. */
  declare clone: () => RoundTripResponse
}

for (const [name, fn] of Object.entries(bodyMethods)) {
  Object.defineProperty(RoundTripResponse.prototype, name, { value: fn, writable: true, configurable: true, enumerable: true })
}
const baseType = Object.getOwnPropertyDescriptor(Response.prototype, 'type')!.get!

// `url`, `redirected`, `type`, `headers`, `body` and `bodyUsed` are accessors on
// Response.prototype; TypeScript types them as properties, so the overriding
// accessors are defined here.
Object.defineProperties(RoundTripResponse.prototype, {
  url: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kUrl]
    },
  },
  redirected: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kRedirected]
    },
  },
  type: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return this[kType] ?? baseType.call(this)
    },
  },
  headers: {
    configurable: true,
    enumerable: true,
    get(this: RoundTripResponse) {
      return headersOf(this)
    },
  },
  ...bodyAccessors,
})

/**
 * The init Response's constructor converts: only its three members, in one
 * shape. Passed the caller's ResponseInfo (more members, many shapes), the
 * conversion's keyed reads went megamorphic: in a running Transport, `new
 * Response` took about twice as long (CPU profile, Node 24, c64).
 */
function responseInit(status: number | undefined, statusText: string | undefined, headers: ResponseInit['headers']): ResponseInit {
  return { status, statusText, headers } as ResponseInit
}

function withRaw(init: ResponseInit['headers'], raw: readonly string[]): Headers {
  const headers = new Headers(init)
  appendRaw(headers, raw)
  return headers
}

/** Whether `response` is a RoundTripResponse of any installed copy of core (they share the keys). */
function isRoundTripResponse(response: Response): response is RoundTripResponse {
  return kUrl in response
}

/**
 * withResponseInfo returns `response` with `url`, `redirected` (and `type`) replaced,
 * as a fetch layer does after following redirects. A
 * {@link RoundTripResponse} is updated in place and returned (its clones made
 * before keep their values); any other response is re-wrapped in a
 * RoundTripResponse over the same body stream (nothing is copied). The
 * caller must own the response.
 */
export function withResponseInfo(response: Response, info: { url?: string; redirected?: boolean; type?: ResponseType }): Response {
  if (isRoundTripResponse(response)) {
    if (info.url !== undefined) response[kUrl] = info.url
    if (info.redirected !== undefined) response[kRedirected] = info.redirected
    if (info.type !== undefined) response[kType] = info.type
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
  return isRoundTripResponse(response) ? response[kSource] : undefined
}

/** @internal The hold the producer of a response without a body declared (ResponseInfo.hold), if any. */
export function bodilessHoldOf(response: Response): Readonly<BodyHold> | undefined {
  return isRoundTripResponse(response) ? response[kHold] : undefined
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
