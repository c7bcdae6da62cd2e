import { ERR_INVALID_RESPONSE, ERR_INVALID_STATUS, RoundTripError } from './errors.js'
import { sourceByResponse, sourceByStream } from './internal.js'

/** ResponseBodyInit is what `new Response(body)` accepts. */
export type ResponseBodyInit = ConstructorParameters<typeof Response>[0]

const kInfo = Symbol('roundtrip.responseInfo')

interface Info {
  url: string
  redirected: boolean
}

/** ResponseInfo is what {@link createResponse} takes: a `ResponseInit` plus the fields a transport sets. */
export interface ResponseInfo extends ResponseInit {
  /** The URL the response came from (`response.url`); empty when unknown. */
  url?: string
  /** Whether the response is the result of following redirects (`response.redirected`). */
  redirected?: boolean
}

/**
 * RoundTripResponse is a WHATWG `Response` whose `url` and `redirected` are
 * set by the layer that built it, as Node's fetch sets them. It is an
 * `instanceof Response` for Node's global class, and `clone()` keeps `url`,
 * `redirected` and the class. Build one with {@link createResponse}.
 */
export class RoundTripResponse extends Response {
  declare [kInfo]: Info

  constructor(body: ResponseBodyInit, init: ResponseInfo) {
    super(body, init)
    this[kInfo] = { url: init.url ?? '', redirected: init.redirected === true }
    if (body instanceof ReadableStream) {
      const source = sourceByStream.get(body)
      if (source !== undefined) sourceByResponse.set(this, source)
    }
  }

  /** Clones the response as `Response.clone()` does, keeping `url`, `redirected` and the class. */
  declare clone: () => RoundTripResponse
}

const baseClone = Response.prototype.clone
RoundTripResponse.prototype.clone = function clone(this: RoundTripResponse): RoundTripResponse {
  const copy = baseClone.call(this) as RoundTripResponse
  Object.setPrototypeOf(copy, RoundTripResponse.prototype)
  copy[kInfo] = this[kInfo]
  // Both branches of the tee read from the same source.
  const source = sourceByResponse.get(this)
  if (source !== undefined) sourceByResponse.set(copy, source)
  return copy
}

// `url` and `redirected` are accessors on Response.prototype; TypeScript types
// them as properties, so the overriding accessors are defined here.
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
})

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
 * `url` and `redirected` set.
 *
 * @throws RoundTripError `RT_INVALID_STATUS` when `status` is not an integer
 * in 200–599 (what a `Response` can represent), and `RT_INVALID_RESPONSE`
 * when a body is given with a null-body status (204, 205, 304). The message
 * names the URL.
 *
 * @example
 * ```ts
 * const response = createResponse(stream, { status: 200, headers, url: request.url })
 * ```
 */
export function createResponse(body: ResponseBodyInit, info: ResponseInfo): RoundTripResponse {
  const status = info.status ?? 200
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RoundTripError(
      ERR_INVALID_STATUS,
      `invalid response status ${String(status)}: a Response can only have a status from 200 to 599${info.url ? ` (${info.url})` : ''}`,
    )
  }
  if (body !== null && isNullBodyStatus(status)) {
    throw new RoundTripError(
      ERR_INVALID_RESPONSE,
      `a response with status ${status} cannot have a body${info.url ? ` (${info.url})` : ''}`,
    )
  }
  return new RoundTripResponse(body, info)
}
