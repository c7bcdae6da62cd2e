import { resolveObjectURL } from 'node:buffer'
import { RoundTripError, withResponseInfo } from '@roundtrip/core'
import { fetchFailed } from './errors.js'

/** Error code: a `blob:` URL fetch failed (not GET, revoked or unknown URL, or an unsatisfiable range). */
export const ERR_BLOB_URL = 'RT_BLOB_URL'

/**
 * fetchBlobUrl answers a request for a `blob:` URL made with
 * `URL.createObjectURL`, as the fetch standard's scheme fetch does: GET
 * only, the fragment ignored, a single `Range: bytes=a-b` answered with
 * `206` and `Content-Range`. Anything else is a network error.
 */
export function fetchBlobUrl(request: Request): Promise<Response> {
  const fail = (message: string): Promise<never> => Promise.reject(fetchFailed(new RoundTripError(ERR_BLOB_URL, `${message} (${request.method} ${request.url})`)))
  if (request.method !== 'GET') return fail('a blob: URL can only be fetched with GET')
  const hash = request.url.indexOf('#')
  const url = hash < 0 ? request.url : request.url.slice(0, hash)
  const blob = resolveObjectURL(url) as Blob | undefined
  if (blob === undefined) return fail('no Blob behind this blob: URL (revoked, or made in another thread)')
  const range = request.headers.get('range')
  if (range === null) {
    const response = new Response(blob, { status: 200, statusText: 'OK', headers: { 'content-length': String(blob.size), 'content-type': blob.type } })
    return Promise.resolve(withResponseInfo(response, { url, type: 'basic' }))
  }
  const parsed = parseRange(range, blob.size)
  if (parsed === undefined) return fail(`invalid or unsatisfiable range ${JSON.stringify(range)} for a Blob of ${blob.size} bytes`)
  const [start, end] = parsed
  const slice = blob.slice(start, end + 1, blob.type)
  const headers = { 'content-length': String(slice.size), 'content-type': blob.type, 'content-range': `bytes ${start}-${end}/${blob.size}` }
  return Promise.resolve(withResponseInfo(new Response(slice, { status: 206, statusText: 'Partial Content', headers }), { url, type: 'basic' }))
}

/**
 * parseRange parses a single `bytes=` range (the fetch standard's "parse a
 * single range header value") into an inclusive [start, end] within `size`.
 */
export function parseRange(value: string, size: number): [number, number] | undefined {
  const match = /^bytes[\t ]*=[\t ]*(\d*)[\t ]*-[\t ]*(\d*)[\t ]*$/.exec(value)
  if (match === null) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last)
    return n === 0 || size === 0 ? undefined : [Math.max(0, size - n), size - 1]
  }
  const start = Number(first)
  if (start >= size) return undefined
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  return end < start ? undefined : [start, end]
}
