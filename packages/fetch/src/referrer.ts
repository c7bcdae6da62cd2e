/** The referrer policies of the Referrer Policy spec (the empty string means the default). */
const POLICIES = new Set([
  'no-referrer',
  'no-referrer-when-downgrade',
  'same-origin',
  'origin',
  'strict-origin',
  'origin-when-cross-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
])

/** DEFAULT_POLICY is the policy used when a request has none, as in browsers and undici. */
const DEFAULT_POLICY = 'strict-origin-when-cross-origin'

/**
 * hasReferrer reports whether a request's `referrer` (as `Request.referrer`
 * serializes it) is a URL: `''` is no referrer, and `about:client` has no
 * client to take one from in Node.
 */
export function hasReferrer(referrer: string): boolean {
  return referrer !== '' && referrer !== 'about:client'
}

/**
 * parseReferrerPolicy reads a `Referrer-Policy` response header: of its
 * comma-separated tokens the last known one wins; empty and unknown tokens
 * are ignored. Returns `''` when there is none.
 */
export function parseReferrerPolicy(value: string | null): string {
  if (value === null) return ''
  let policy = ''
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase()
    if (POLICIES.has(t)) policy = t
  }
  return policy
}

/** Potentially trustworthy, as the Secure Contexts spec says (HTTPS, WSS, file, loopback). */
function trustworthy(url: URL): boolean {
  if (url.protocol === 'https:' || url.protocol === 'wss:' || url.protocol === 'file:' || url.protocol === 'data:') return true
  if (url.href === 'about:blank' || url.href === 'about:srcdoc') return true
  const host = url.hostname
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * referrerFor computes the `Referer` header for a request to `target` whose
 * referrer is `referrer` (a URL) under `policy` (empty: the default,
 * `strict-origin-when-cross-origin`), as the fetch standard's "determine
 * request's referrer" does; `undefined` when none is sent. Credentials and
 * the fragment never leave; a referrer URL over 4,096 bytes is cut to its
 * origin.
 */
export function referrerFor(referrer: string, policy: string, target: string): string | undefined {
  let source: URL
  try {
    source = new URL(referrer)
  } catch {
    return undefined
  }
  if (source.protocol !== 'http:' && source.protocol !== 'https:') return undefined
  source.username = ''
  source.password = ''
  source.hash = ''
  const origin = `${source.origin}/`
  const full = source.href.length > 4096 ? origin : source.href
  const to = new URL(target)
  const sameOrigin = source.origin === to.origin
  const downgrade = trustworthy(source) && !trustworthy(to)
  switch (policy === '' ? DEFAULT_POLICY : policy) {
    case 'no-referrer':
      return undefined
    case 'origin':
      return origin
    case 'unsafe-url':
      return full
    case 'strict-origin':
      return downgrade ? undefined : origin
    case 'same-origin':
      return sameOrigin ? full : undefined
    case 'origin-when-cross-origin':
      return sameOrigin ? full : origin
    case 'no-referrer-when-downgrade':
      return downgrade ? undefined : full
    default:
      // strict-origin-when-cross-origin
      return sameOrigin ? full : downgrade ? undefined : origin
  }
}

/** The referrer of a request with a referrer URL, and its policy as redirects change it. */
export interface ReferrerState {
  readonly referrer: string
  policy: string
}

/** setReferer sets or removes the `Referer` header for a hop to `target`. */
export function setReferer(headers: Headers, state: ReferrerState, target: string): void {
  const value = referrerFor(state.referrer, state.policy, target)
  if (value === undefined) headers.delete('referer')
  else headers.set('referer', value)
}
