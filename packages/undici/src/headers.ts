import type { IncomingHttpHeaders } from 'node:http'
import { errors } from 'undici'

/** What undici accepts as request headers (`Dispatcher.DispatchOptions['headers']`). */
export type DispatchHeaders =
  | Record<string, string | string[] | number | undefined>
  | IncomingHttpHeaders
  | Array<string | Buffer>
  | Iterable<[string, string | string[] | undefined]>
  | null
  | undefined

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('latin1') : String(value)
}

/** Where headers are appended: a `Headers`, or a check of their values. */
interface HeaderSink {
  append(name: string, value: string): void
}

function appendValue(target: HeaderSink, name: unknown, value: unknown): void {
  if (value === undefined || value === null) return
  if (Array.isArray(value)) for (const item of value) target.append(text(name), text(item))
  else target.append(text(name), text(value))
}

/**
 * isIterable says whether headers that are not an array are an iterable of
 * pairs rather than a record: their iterator is their own or their class's,
 * as undici's `hasSafeIterator` decides (a plain object stays a record when
 * `Object.prototype` was given an iterator).
 */
function isIterable(input: object): boolean {
  if (typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function') return false
  if (Object.prototype.hasOwnProperty.call(input, Symbol.iterator)) return true
  const prototype = Object.getPrototypeOf(input) as object | null
  return prototype !== null && prototype !== Object.prototype
}

/**
 * headersFromDispatch builds `Headers` from every shape undici takes: a
 * record (values a string or a list), a flat `[name, value, …]` array (of
 * strings or latin1 Buffers, as undici's raw headers and trailers), or an
 * iterable of `[name, value]` pairs. Throws the TypeError of `Headers` on an
 * invalid name or value, undici's `InvalidArgumentError` on an iterable that
 * yields anything but pairs.
 */
export function headersFromDispatch(input: DispatchHeaders): Headers {
  const headers = new Headers()
  eachHeader(input, headers)
  return headers
}

/** eachHeader appends every header of a dispatch, in any of undici's shapes, to `target`. */
function eachHeader(input: DispatchHeaders, target: HeaderSink): void {
  if (input === null || input === undefined) return
  if (Array.isArray(input)) {
    if (input.length > 0 && Array.isArray(input[0])) {
      for (const pair of input as unknown as Array<[string, unknown]>) appendValue(target, pair[0], pair[1])
      return
    }
    if (input.length % 2 !== 0) throw new TypeError('headers array must hold name/value pairs (odd length)')
    for (let i = 0; i < input.length; i += 2) appendValue(target, input[i], input[i + 1])
    return
  }
  if (isIterable(input)) {
    for (const pair of input as Iterable<unknown>) {
      // undici's Client refuses it so (an iterable of anything but pairs).
      if (!Array.isArray(pair) || pair.length !== 2) throw new errors.InvalidArgumentError('headers must be in key-value pair format')
      appendValue(target, pair[0], pair[1])
    }
    return
  }
  for (const [name, value] of Object.entries(input)) appendValue(target, name, value)
}

// What undici's Client refuses in a header value (its headerCharRegex): a control character other than tab, CR and LF among them.
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/** Whether undici's Client would refuse `value` as a header value (`InvalidArgumentError: invalid <name> header`). */
export function isInvalidHeaderValue(value: string): boolean {
  return INVALID_VALUE.test(value)
}

/**
 * invalidHeaderName is the lower-case name of the first header of `input`
 * whose value undici's Client would refuse (a CR or LF in it), or undefined;
 * also undefined when the headers are malformed otherwise.
 */
export function invalidHeaderName(input: DispatchHeaders): string | undefined {
  const check = new InvalidValueFinder()
  try {
    eachHeader(input, check)
  } catch {
    return undefined
  }
  return check.found
}

/** A sink that keeps the lower-case name of the first header whose value undici's Client would refuse (a class: no closure per call). */
class InvalidValueFinder implements HeaderSink {
  found: string | undefined

  append(name: string, value: string): void {
    if (this.found === undefined && isInvalidHeaderValue(value)) this.found = name.toLowerCase()
  }
}

function hasUpper(name: unknown): boolean {
  if (typeof name !== 'string') return false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 65 && c <= 90) return true
  }
  return false
}

/** The `i`-th name of a dispatch's header list (`pairs`: of `[name, value]` pairs; else flat, `[name, value, …]`), as a string. */
function nameAt(list: readonly unknown[], pairs: boolean, i: number): unknown {
  const name = pairs ? (list[i] as readonly unknown[] | undefined)?.[0] : list[2 * i]
  return Buffer.isBuffer(name) ? name.toString('latin1') : name
}

/**
 * writtenNames returns the case a dispatch wrote its header names in, as the
 * request context's `headerNames` takes it (lower-case name → the first
 * spelling given, as undici's `Headers` keeps it), for the names written
 * with an upper-case letter; `undefined` when there are none, or when the
 * headers are an iterable other than an array (`new Request()` reads it,
 * once). undici's Client sends names as written, Node's fetch hands it the
 * case its caller wrote, and some servers compare names case-sensitively.
 */
export function writtenNames(input: DispatchHeaders): ReadonlyMap<string, string> | undefined {
  if (input === null || input === undefined) return undefined
  let names: readonly unknown[]
  if (Array.isArray(input)) {
    // Scanned in place first: most dispatches name nothing in upper case, and pay no list for it.
    const pairs = Array.isArray(input[0])
    const count = pairs ? input.length : input.length >> 1
    let upper = false
    for (let i = 0; i < count && !upper; i++) upper = hasUpper(nameAt(input, pairs, i))
    if (!upper) return undefined
    names = Array.from({ length: count }, (_, i) => nameAt(input, pairs, i))
  } else if (isIterable(input)) {
    return undefined
  } else {
    // A record (Node's fetch hands one).
    let upper = false
    for (const name in input) if ((upper = hasUpper(name))) break
    if (!upper) return undefined
    names = Object.keys(input)
  }
  const first = new Map<string, string>()
  for (const name of names) {
    if (typeof name !== 'string') continue
    const lower = name.toLowerCase()
    if (!first.has(lower)) first.set(lower, name)
  }
  for (const [lower, name] of first) if (lower === name) first.delete(lower)
  return first.size === 0 ? undefined : first
}

/**
 * requestHeadersInit is `input` as `new Request()` takes it, built once: a
 * record whose values are all strings is handed over as it is (Node's fetch
 * passes one), anything else goes through {@link headersFromDispatch}.
 */
export function requestHeadersInit(input: DispatchHeaders): Headers | Record<string, string> {
  // Not when Object.prototype was given an iterator: new Request() would read the record as an (empty) iterable.
  if (input !== null && input !== undefined && !Array.isArray(input) && Object.getPrototypeOf(input) === Object.prototype && !(Symbol.iterator in input)) {
    const record = input as Record<string, unknown>
    let plain = true
    for (const name in record) {
      if (typeof record[name] !== 'string') {
        plain = false
        break
      }
    }
    if (plain) return record as Record<string, string>
  }
  return headersFromDispatch(input)
}

/** rawHeaders lists `headers` as undici's legacy handlers take them: `[name, value, …]` as latin1 Buffers, each `set-cookie` apart. */
export function rawHeaders(headers: Headers): Buffer[] {
  const raw: Buffer[] = []
  for (const [name, value] of headers) raw.push(Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1'))
  return raw
}

/** headerRecord lists `headers` as undici 7's handlers take them: lower-case names, a list where a name repeats (`set-cookie`). */
export function headerRecord(headers: Headers): IncomingHttpHeaders {
  const record: Record<string, string | string[]> = {}
  for (const [name, value] of headers) {
    const current = record[name]
    if (current === undefined) record[name] = value
    else if (Array.isArray(current)) current.push(value)
    else record[name] = [current, value]
  }
  return record
}

/** rawHeaderRecord is undici's raw `[name, value, …]` list (Buffers or strings) as undici 7's handlers take it: lower-case names, a list where a name repeats. */
export function rawHeaderRecord(raw: ReadonlyArray<Buffer | string>): IncomingHttpHeaders {
  const record: Record<string, string | string[]> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = text(raw[i]).toLowerCase()
    const value = text(raw[i + 1])
    const current = record[name]
    if (current === undefined) record[name] = value
    else if (Array.isArray(current)) current.push(value)
    else record[name] = [current, value]
  }
  return record
}
