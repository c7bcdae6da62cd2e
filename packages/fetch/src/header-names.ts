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
  const list: Iterable<readonly string[]> | undefined = Symbol.iterator in headers ? (headers as Iterable<readonly string[]>) : undefined
  let first: Map<string, string> | undefined
  const note = (name: string): void => {
    const lower = name.toLowerCase()
    if (first?.has(lower) === true) return
    ;(first ??= new Map()).set(lower, name)
  }
  // Most callers write lower case: they pay for one scan and no map.
  if (list === undefined) {
    const names = Object.keys(headers)
    if (!names.some(hasUpper)) return undefined
    for (const name of names) note(name)
  } else {
    let upper = false
    for (const pair of list) if (typeof pair[0] === 'string' && hasUpper(pair[0])) upper = true
    if (!upper) return undefined
    for (const pair of list) if (typeof pair[0] === 'string') note(pair[0])
  }
  for (const [lower, name] of first!) if (lower === name) first!.delete(lower)
  return first!.size === 0 ? undefined : first
}

function hasUpper(name: string): boolean {
  return /[A-Z]/.test(name)
}

/** withWrittenNames gives a fetch below (fromFetch) the headers as `[name, value]` pairs, in the case `names` gives. */
export function withWrittenNames(headers: Headers, names: ReadonlyMap<string, string> | undefined): HeadersInit {
  if (names === undefined) return headers
  const pairs: Array<[string, string]> = []
  for (const [name, value] of headers) pairs.push([names.get(name) ?? name, value])
  return pairs
}
