import { deriveRequest, type Middleware } from '@roundtrip/core'
import { layer } from '../layer.js'
import { invalidOption } from '../errors.js'

/**
 * HeaderValue is a default header's value: a string, or a function called
 * for each request that lacks the header (a token that rotates), which may
 * return a promise, or `undefined` to add nothing.
 */
export type HeaderValue = string | ((request: Request) => string | undefined | Promise<string | undefined>)

/**
 * defaultHeaders is a middleware that adds each of `headers` to a request
 * that lacks it; a header the request already has is left as it is. A
 * function value is called per request, only when the header is missing
 * (`authorization: () => \`Bearer ${token()}\``); if it throws or rejects,
 * the call rejects with that error and nothing is sent. A request that needs
 * nothing added goes down unchanged; otherwise a derived request carries
 * the headers (the caller's request is not mutated).
 *
 * @throws RoundTripError `RT_INVALID_OPTION` when a name is not a valid
 * header name or a value is neither a string nor a function.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), defaultHeaders({
 *   'user-agent': 'my-app/1.0',
 *   accept: 'application/json',
 *   authorization: async () => `Bearer ${await tokens.current()}`,
 * }))
 * ```
 */
export function defaultHeaders(headers: Record<string, HeaderValue>): Middleware {
  if (typeof headers !== 'object' || headers === null) throw invalidOption('defaultHeaders', 'headers must be an object of name → value')
  const entries: Array<[string, HeaderValue]> = []
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers().append(name, typeof value === 'string' ? value : '')
    } catch {
      throw invalidOption('defaultHeaders', `${JSON.stringify(name)} is not a valid header (name or value)`)
    }
    if (typeof value !== 'string' && typeof value !== 'function') {
      throw invalidOption('defaultHeaders', `the value of ${name} must be a string or a function`)
    }
    entries.push([name.toLowerCase(), value])
  }
  return function defaultHeadersLayer(next) {
    return layer((request) => {
      let missing: Array<[string, HeaderValue]> | undefined
      for (const entry of entries) {
        if (!request.headers.has(entry[0])) (missing ??= []).push(entry)
      }
      if (missing === undefined) return next.roundTrip(request)
      let computed: Array<string | undefined | Promise<string | undefined>>
      try {
        computed = missing.map(([, value]) => (typeof value === 'string' ? value : value(request)))
      } catch (error) {
        return Promise.reject(error)
      }
      const send = (values: Array<string | undefined>): Promise<Response> => {
        const merged = new Headers(request.headers)
        values.forEach((value, i) => {
          if (value !== undefined) merged.set(missing[i]![0], value)
        })
        return next.roundTrip(deriveRequest(request, { headers: merged }))
      }
      // Strings and synchronous functions stay on one promise.
      if (computed.every((v) => typeof v !== 'object')) return send(computed as Array<string | undefined>)
      return Promise.all(computed).then(send)
    })
  }
}
