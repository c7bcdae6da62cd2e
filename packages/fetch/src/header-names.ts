/** What `init.headers` takes. */
type HeadersInit = NonNullable<RequestInit['headers']>

/**
 * writtenNames returns the case the caller wrote header names in, as the
 * context's `headerNames` takes it (lower-case name → the first spelling
 * given, as undici's fetch keeps it), for the names written with an upper-case
 * letter; `undefined` when there are none, or for a `Headers` object, whose
 * case cannot be read (Node's keeps it out of reach).
 */
export function writtenNames(headers: HeadersInit): ReadonlyMap<string, string> | undefined {
  if (headers instanceof Headers) return undefined
  // Most callers write lower case: they pay for one scan and no map.
  let first: Map<string, string>
  if (Symbol.iterator in headers) {
    const list = headers as Iterable<readonly string[]>
    let upper = false
    for (const pair of list) if (typeof pair[0] === 'string' && hasUpper(pair[0])) upper = true
    if (!upper) return undefined
    first = new Map()
    for (const pair of list) if (typeof pair[0] === 'string') note(first, pair[0])
  } else {
    const names = Object.keys(headers)
    if (!names.some(hasUpper)) return undefined
    first = new Map()
    for (const name of names) note(first, name)
  }
  for (const [lower, name] of first) if (lower === name) first.delete(lower)
  return first.size === 0 ? undefined : first
}

/** note keeps the first spelling of a name. */
function note(first: Map<string, string>, name: string): void {
  const lower = name.toLowerCase()
  if (!first.has(lower)) first.set(lower, name)
}

function hasUpper(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 65 && c <= 90) return true
  }
  return false
}

/** withWrittenNames gives a fetch below (fromFetch) the headers as `[name, value]` pairs, in the case `names` gives. */
export function withWrittenNames(headers: Headers, names: ReadonlyMap<string, string> | undefined): HeadersInit {
  if (names === undefined) return headers
  const pairs: Array<[string, string]> = []
  for (const [name, value] of headers) pairs.push([names.get(name) ?? name, value])
  return pairs
}
