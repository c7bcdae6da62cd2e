import { redactUrl } from '@roundtrip/core'
import { ERR_MOCK_INVALID, TestingError } from './errors.js'

/** JsonValue is a value `JSON.stringify` writes as is. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined }

/**
 * UrlMatcher says which URLs an interceptor answers:
 * - a string: a full URL (`https://api.example.com/users/:id`) whose path
 *   segments may be `:name` parameters, or a path alone (`/users/:id`), which
 *   matches any origin. A query in the string must equal the request's query
 *   (in any order); without one the query is not looked at (see `query`).
 * - a RegExp, tested against the whole URL (`request.url`);
 * - a function of the parsed URL.
 */
export type UrlMatcher = string | RegExp | ((url: URL) => boolean)

/** ValueMatcher matches one header or query value: equal to a string, matched by a RegExp, or accepted by a predicate. */
export type ValueMatcher = string | RegExp | ((value: string) => boolean)

/**
 * HeadersMatcher: each listed header must match (`null`: must be absent;
 * names are case-insensitive; headers not listed are not looked at), or a
 * predicate of all the headers.
 */
export type HeadersMatcher = Record<string, ValueMatcher | null> | ((headers: Headers) => boolean)

/**
 * QueryMatcher: each listed parameter must match (an array: all its values,
 * in order; `null`: must be absent); others are not looked at. Or a
 * predicate of the parameters.
 */
export type QueryMatcher = Record<string, ValueMatcher | string[] | null> | ((query: URLSearchParams) => boolean)

/**
 * BodyMatcher matches the request body: a string (the exact text), a
 * RegExp (tested against the text), bytes (the exact bytes), any other JSON
 * value (the body parsed as JSON must deep-equal it), or a predicate of the
 * text.
 */
export type BodyMatcher = string | RegExp | Uint8Array | ((body: string) => boolean) | Exclude<JsonValue, string>

/** What a request looks like to the matchers: parsed once per request. */
export interface RequestFacts {
  method: string
  url: URL
  headers: Headers
  body: Uint8Array | null
}

/** The result of testing one interceptor's matcher against a request. */
export interface MatchResult {
  /** The `:name` values of a string URL pattern. */
  params: Record<string, string>
  /** Why it did not match, one line per facet; empty when it matched. */
  reasons: string[]
  /** How many facets matched: how close the interceptor came. */
  score: number
}

const utf8 = new TextDecoder()
const SHOW = 60

/** show quotes a value for a message, cut to a readable length. */
export function show(value: string): string {
  const quoted = JSON.stringify(value)
  return quoted.length > SHOW ? `${quoted.slice(0, SHOW - 1)}…"` : quoted
}

/**
 * predicateName names a predicate in a message: `predicate isAdmin`, or
 * `predicate` when it has no name of its own (an inline arrow function takes
 * the name of the key it is written under, which says nothing).
 */
function predicateName(fn: { name: string }, key: string): string {
  return fn.name === '' || fn.name === key ? 'the predicate' : `the predicate ${fn.name}`
}

/** describeValue names a value matcher in a message. */
function describeValue(m: ValueMatcher, key: string): string {
  if (typeof m === 'string') return show(m)
  if (m instanceof RegExp) return String(m)
  return `a value ${predicateName(m, key)} accepts`
}

function testValue(m: ValueMatcher, value: string): boolean {
  if (typeof m === 'string') return m === value
  if (m instanceof RegExp) {
    m.lastIndex = 0
    return m.test(value)
  }
  return m(value) === true
}

/** A compiled URL matcher. */
export interface UrlPattern {
  /** How the pattern reads in messages. */
  text: string
  /** Tests the URL; returns the reasons it failed and how many of origin/path/query matched. */
  test(url: URL): { params: Record<string, string>; reasons: string[]; matched: number; facets: number }
}

function samePath(pattern: string[], path: string[], params: Record<string, string>): boolean {
  if (pattern.length !== path.length) return false
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!
    const got = path[i]!
    if (want.startsWith(':') && want.length > 1) {
      if (got === '') return false
      try {
        params[want.slice(1)] = decodeURIComponent(got)
      } catch {
        params[want.slice(1)] = got
      }
    } else if (want !== got) return false
  }
  return true
}

function sortedQuery(q: URLSearchParams): string {
  return [...q].map(([k, v]) => `${k}=${v}`).sort().join('&')
}

/** compileUrl turns a {@link UrlMatcher} into a pattern, rejecting what cannot be a URL pattern. */
export function compileUrl(matcher: UrlMatcher): UrlPattern {
  if (matcher instanceof RegExp) {
    return {
      text: String(matcher),
      test(url) {
        matcher.lastIndex = 0
        const ok = matcher.test(url.href)
        return { params: {}, reasons: ok ? [] : [`URL ${redactUrl(url)} does not match ${String(matcher)}`], matched: ok ? 1 : 0, facets: 1 }
      },
    }
  }
  if (typeof matcher === 'function') {
    const name = predicateName(matcher, 'url')
    return {
      text: `URL accepted by ${name}`,
      test(url) {
        const ok = matcher(url) === true
        return { params: {}, reasons: ok ? [] : [`URL ${redactUrl(url)} is refused by ${name}`], matched: ok ? 1 : 0, facets: 1 }
      },
    }
  }
  if (typeof matcher !== 'string' || matcher === '') {
    throw new TestingError(ERR_MOCK_INVALID, `intercept: url must be a URL or path string, a RegExp or a function, got ${matcher === '' ? 'an empty string' : typeof matcher}`)
  }
  const pathOnly = matcher.startsWith('/')
  let parsed: URL
  try {
    parsed = new URL(matcher, pathOnly ? 'http://any.invalid' : undefined)
  } catch {
    throw new TestingError(ERR_MOCK_INVALID, `intercept: url ${show(matcher)} is neither a full URL nor a path starting with "/"`)
  }
  const origin = pathOnly ? undefined : parsed.origin
  const segments = parsed.pathname.split('/')
  const query = matcher.includes('?') ? sortedQuery(parsed.searchParams) : undefined
  return {
    text: matcher,
    test(url) {
      const params: Record<string, string> = {}
      const reasons: string[] = []
      let matched = 0
      let facets = 1
      if (origin !== undefined) {
        facets++
        if (url.origin === origin) matched++
        else reasons.push(`origin is ${url.origin}, expected ${origin}`)
      }
      if (samePath(segments, url.pathname.split('/'), params)) matched++
      else reasons.push(`path ${url.pathname} does not match ${parsed.pathname}`)
      if (query !== undefined) {
        facets++
        const got = sortedQuery(url.searchParams)
        if (got === query) matched++
        else reasons.push(`query is ${show(url.search)}, expected ${show(parsed.search)}`)
      }
      return { params, reasons, matched, facets }
    },
  }
}

/**
 * testNamed checks named values (headers, query parameters) one by one:
 * `null` wants the name absent, an array wants exactly those values in
 * order, anything else wants a value it accepts.
 */
function testNamed(
  what: 'header' | 'query',
  matcher: Record<string, ValueMatcher | string[] | null>,
  getAll: (name: string) => string[],
): string[] {
  const reasons: string[] = []
  for (const [key, want] of Object.entries(matcher)) {
    const name = what === 'header' ? key.toLowerCase() : key
    const got = getAll(key)
    const shown = show(got.join(', '))
    if (want === null) {
      if (got.length > 0) reasons.push(`${what} ${name} is ${shown}, expected it absent`)
    } else if (Array.isArray(want)) {
      if (got.length !== want.length || got.some((v, i) => v !== want[i])) reasons.push(`${what} ${name} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
    } else if (got.length === 0) reasons.push(`${what} ${name} is missing, expected ${describeValue(want, key)}`)
    else if (!got.some((v) => testValue(want, v))) reasons.push(`${what} ${name} is ${shown}, expected ${describeValue(want, key)}`)
  }
  return reasons
}

/** testHeaders returns the reasons `headers` does not satisfy `matcher`. */
export function testHeaders(matcher: HeadersMatcher, headers: Headers): string[] {
  if (typeof matcher === 'function') {
    return matcher(headers) === true ? [] : [`headers are refused by ${predicateName(matcher, 'headers')}`]
  }
  return testNamed('header', matcher, (name) => {
    const value = headers.get(name)
    return value === null ? [] : [value]
  })
}

/** testQuery returns the reasons `query` does not satisfy `matcher`. */
export function testQuery(matcher: QueryMatcher, query: URLSearchParams): string[] {
  if (typeof matcher === 'function') {
    return matcher(query) === true ? [] : [`query is refused by ${predicateName(matcher, 'query')}`]
  }
  return testNamed('query', matcher, (name) => query.getAll(name))
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** testBody returns the reasons `body` does not satisfy `matcher`. */
export function testBody(matcher: BodyMatcher, body: Uint8Array | null): string[] {
  const text = body === null ? '' : utf8.decode(body)
  const got = body === null ? 'no body' : show(text)
  if (typeof matcher === 'function') {
    return matcher(text) === true ? [] : [`body ${got} is refused by ${predicateName(matcher, 'body')}`]
  }
  if (typeof matcher === 'string') return text === matcher && body !== null ? [] : [`body is ${got}, expected ${show(matcher)}`]
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0
    return matcher.test(text) ? [] : [`body ${got} does not match ${String(matcher)}`]
  }
  if (matcher instanceof Uint8Array) {
    const same = body !== null && body.byteLength === matcher.byteLength && body.every((b, i) => b === matcher[i])
    return same ? [] : [`body is ${body === null ? 'no body' : `${body.byteLength} bytes`}, expected ${matcher.byteLength} given bytes`]
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return [`body ${got} is not JSON, expected ${show(JSON.stringify(matcher))}`]
  }
  return deepEqual(parsed, matcher) ? [] : [`body is ${got}, expected JSON ${show(JSON.stringify(matcher))}`]
}
