/** What `init.headers` takes. */
type HeadersInit = NonNullable<RequestInit['headers']>

/**
 * readableTwice returns `headers` in a form that can be read more than once:
 * `new Request()` reads `init.headers`, and so does `writtenNames` after it.
 * An iterable of pairs other than an array (a generator, a Map's entries)
 * becomes an array; a record, an array or a `Headers` object is returned as
 * it is, and so is a value that is not an object (`new Request()` rejects it).
 */
export function readableTwice(headers: HeadersInit): HeadersInit {
  // Not an object (a caller's mistake): left for new Request() to reject with Node's own TypeError.
  if (typeof headers !== 'object' || headers === null) return headers
  if (Array.isArray(headers) || headers instanceof Headers || !(Symbol.iterator in headers)) return headers
  return Array.from(headers as Iterable<[string, string]>)
}

/**
 * writtenNames returns the case the caller wrote header names in, as the
 * context's `headerNames` takes it (lower-case name → the first spelling
 * given, as undici's fetch keeps it), for the names written with an upper-case
 * letter; `undefined` when there are none, or for a `Headers` object, whose
 * case cannot be read (Node's keeps it out of reach). `headers` is a record,
 * an array of pairs or a `Headers` object (see `readableTwice`).
 */
export function writtenNames(headers: HeadersInit): ReadonlyMap<string, string> | undefined {
  if (headers instanceof Headers) return undefined
  // Pairs are read in place: no array of names is built for them.
  const pairs = Array.isArray(headers)
  const list: readonly unknown[] = pairs ? headers : Object.keys(headers)
  // Most callers write lower case: they pay for one scan and no map.
  let upper = false
  for (let i = 0; i < list.length && !upper; i++) upper = hasUpper(nameAt(list, pairs, i))
  if (!upper) return undefined
  const first = new Map<string, string>()
  for (let i = 0; i < list.length; i++) {
    const name = nameAt(list, pairs, i)
    if (typeof name !== 'string') continue
    const lower = name.toLowerCase()
    if (!first.has(lower)) first.set(lower, name)
  }
  for (const [lower, name] of first) if (lower === name) first.delete(lower)
  return first.size === 0 ? undefined : first
}

/** The i-th name in `list`: an array of `[name, value]` pairs when `pairs`, else of names. */
function nameAt(list: readonly unknown[], pairs: boolean, i: number): unknown {
  return pairs ? (list[i] as readonly unknown[])[0] : list[i]
}

function hasUpper(name: unknown): boolean {
  if (typeof name !== 'string') return false
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
