import { createHash } from 'node:crypto'
import { RoundTripError, redactUrl, withResponseInfo } from '@roundtrip/core'
import { fetchFailed } from './errors.js'

/** Error code: the response body does not match `init.integrity` (subresource integrity). */
export const ERR_INTEGRITY = 'RT_INTEGRITY_MISMATCH'

/** The hash algorithms of subresource integrity, weakest first. */
const ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const
type Algorithm = (typeof ALGORITHMS)[number]

interface Metadata {
  algorithm: Algorithm
  value: string
}

/**
 * parseIntegrity reads integrity metadata (`sha384-… sha512-…?opts`) as the
 * Subresource Integrity spec does: whitespace-separated tokens; a token whose
 * algorithm is not sha256/sha384/sha512 (in any case) is ignored; options
 * after `?` are ignored. Only the tokens of the strongest algorithm are
 * kept; an empty list means "nothing to check".
 */
export function parseIntegrity(metadata: string): Metadata[] {
  let strongest: Metadata[] = []
  let rank = -1
  for (const token of metadata.split(/[\t\n\f\r ]+/)) {
    const expression = token.split('?', 1)[0]!
    const algorithm = expression.slice(0, 6).toLowerCase() as Algorithm
    const index = ALGORITHMS.indexOf(algorithm)
    if (index < 0 || index < rank) continue
    if (index > rank) {
      strongest = []
      rank = index
    }
    strongest.push({ algorithm, value: expression.slice(7) })
  }
  return strongest
}

/** sameDigest compares base64 digests, padding ignored, base64url accepted for the expected one. */
function sameDigest(actual: string, expected: string): boolean {
  const a = actual.replace(/=+$/, '')
  const e = expected.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/')
  return a === e
}

/**
 * checkIntegrity reads the whole body of `response` and resolves with a
 * response carrying the same bytes when they match `metadata`; otherwise it
 * rejects with `TypeError('fetch failed')` (cause `RT_INTEGRITY_MISMATCH`)
 * and the body is never delivered, as the fetch standard asks.
 */
export async function checkIntegrity(response: Response, metadata: string, request: Request): Promise<Response> {
  const expected = parseIntegrity(metadata)
  if (expected.length === 0) return response
  const bytes = response.body === null ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer())
  const digests = new Map<Algorithm, string>()
  for (const { algorithm, value } of expected) {
    let actual = digests.get(algorithm)
    if (actual === undefined) digests.set(algorithm, (actual = createHash(algorithm).update(bytes).digest('base64')))
    if (sameDigest(actual, value)) {
      if (response.body === null) return response
      const checked = new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers })
      return withResponseInfo(checked, { url: response.url, redirected: response.redirected, type: response.type })
    }
  }
  throw fetchFailed(new RoundTripError(ERR_INTEGRITY, `integrity mismatch: the body of ${request.method} ${redactUrl(request.url)} does not match ${JSON.stringify(metadata)}`))
}
