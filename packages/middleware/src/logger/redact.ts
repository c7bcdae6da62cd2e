import { redactUrl } from '@roundtrip/core'

/** REDACTED replaces a secret in a log record. */
export const REDACTED = '[REDACTED]'

/**
 * DEFAULT_SECRET_QUERY matches the query parameter names whose values the
 * logger redacts by default: tokens, keys, secrets, passwords, signatures,
 * sessions, credentials, OAuth codes (`access_token`, `api_key`,
 * `X-Amz-Signature`, `sig`, …).
 */
export const DEFAULT_SECRET_QUERY = /token|key|secret|passw|pwd|auth|sig|session|credential|code|jwt/i

/** Headers whose values are always redacted. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'])

/** redactLoggedUrl removes credentials from `url` and replaces the values of query parameters whose name is a secret. */
export function redactLoggedUrl(url: string, secret: (name: string) => boolean): string {
  const clean = redactUrl(url)
  const q = clean.indexOf('?')
  if (q < 0) return clean
  const hash = clean.indexOf('#', q)
  const end = hash < 0 ? clean.length : hash
  const parts = clean.slice(q + 1, end).split('&')
  let changed = false
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const eq = part.indexOf('=')
    const name = eq < 0 ? part : part.slice(0, eq)
    let decoded = name
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '))
    } catch {}
    if (eq >= 0 && secret(decoded)) {
      parts[i] = `${name}=${REDACTED}`
      changed = true
    }
  }
  // The fragment is never sent; it is not logged either.
  return changed || hash >= 0 ? `${clean.slice(0, q)}?${parts.join('&')}` : clean
}

/** pickHeaders returns the named headers of `headers` that are present, secrets redacted. */
export function pickHeaders(headers: Headers, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = headers.get(name)
    if (value !== null) out[name] = SECRET_HEADERS.has(name) ? REDACTED : value
  }
  return out
}
