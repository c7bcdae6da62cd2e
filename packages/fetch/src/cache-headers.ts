// The request headers the fetch standard's HTTP-network-or-cache fetch adds
// (steps on the cache mode, conditional requests and Range), which Node's
// fetch sends: a RoundTripper below knows nothing of `request.cache`.

/** The conditional request headers that turn the `default` cache mode into `no-store`. */
const CONDITIONAL = ['if-modified-since', 'if-none-match', 'if-unmodified-since', 'if-match', 'if-range']

/**
 * cacheHeaders returns the edit that adds to `request`'s headers what the
 * fetch standard adds for its cache mode and headers, or undefined when it
 * adds nothing: `pragma: no-cache` and `cache-control: no-cache` under
 * `no-store` and `reload` (and under `default` with a conditional header),
 * `cache-control: max-age=0` under `no-cache`, each unless the request has
 * its own; `identity` appended to `accept-encoding` when it asks for a
 * `range` (a range of the unencoded bytes, as Node's fetch asks).
 */
export function cacheHeaders(request: Request): ((headers: Headers) => void) | undefined {
  const headers = request.headers
  let mode = request.cache
  if (mode === 'default' && CONDITIONAL.some((name) => headers.has(name))) mode = 'no-store'
  const range = headers.has('range')
  const noStore = mode === 'no-store' || mode === 'reload'
  if (!range && !noStore && mode !== 'no-cache') return undefined
  return (edited) => {
    if (range) edited.append('accept-encoding', 'identity')
    if (mode === 'no-cache' && !edited.has('cache-control')) edited.append('cache-control', 'max-age=0')
    if (noStore) {
      if (!edited.has('pragma')) edited.append('pragma', 'no-cache')
      if (!edited.has('cache-control')) edited.append('cache-control', 'no-cache')
    }
  }
}

/**
 * mayNeedCacheHeaders says cheaply whether `headers` (an `init.headers` made
 * readable twice: a record, pairs or a `Headers`) may hold a name that
 * {@link cacheHeaders} acts on (`range`, `if-…`), so that most requests with
 * headers skip its look-ups (about 1 µs: a `Headers.has` each). A `Headers`
 * may: its names are not read here.
 */
export function mayNeedCacheHeaders(headers: NonNullable<RequestInit['headers']>): boolean {
  if (typeof headers !== 'object' || headers === null || headers instanceof Headers) return true
  if (Array.isArray(headers)) {
    for (const pair of headers as unknown[]) if (!Array.isArray(pair) || mayAct(pair[0])) return true
    return false
  }
  for (const name in headers) if (mayAct(name)) return true
  return false
}

function mayAct(name: unknown): boolean {
  if (typeof name !== 'string') return true
  const c = name.charCodeAt(0) | 0x20
  return (c === 0x69 /* i */ && (name.charCodeAt(1) | 0x20) === 0x66) /* f */ || (c === 0x72 /* r */ && name.length === 5)
}
