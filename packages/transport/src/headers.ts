import type { ResolvedOptions } from './resolve-options.js'

/** Headers that belong to one connection and are managed by the Transport, not taken from the request. */
// `http2-settings` belongs with `upgrade: h2c` (RFC 7540 §3.2.1), which the
// Transport never sends; node:http2 refuses it on a stream.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'expect', 'te'])

/** The request head as undici takes it. */
export interface OutgoingHeaders {
  /** Flat `[name, value, name, value, …]`. */
  list: string[]
  /** Close the connection after this request (`connection: close`). */
  reset: boolean
  /** The request carries an `Idempotency-Key` or `X-Idempotency-Key` header (retry-policy.ts's policyOf), seen in the same pass. */
  keyed: boolean
}

/**
 * outgoingHeaders converts a request's headers for undici. Hop-by-hop
 * headers are dropped: the Transport manages the connection (a request's
 * `connection: close` is honoured by closing the conn after it). `expect:
 * 100-continue` is dropped and the body sent at once, which RFC 9110 allows
 * (undici's HTTP/1.1 writer cannot wait for the interim response).
 * `accept-encoding: gzip, deflate, br` is added unless compression is
 * disabled (for the Transport, or for this request by the context's
 * `decompress: false`) or the request has its own or asks for a `range`
 * (as Go's Transport); `accept: *\/*` and `user-agent: node`
 * are added when absent, as Node's fetch sends them (some servers refuse a
 * request without a user agent). A body's declared `length` is sent as
 * `content-length`, in place of any the request carries; a `content-length`
 * that repeats one value (`3, 3`) is sent as that value. A name found in
 * `names` (the context's `headerNames`) is sent as written there; the others
 * in lower case. `headers` is a `Headers`, or any `[name, value]` pairs
 * with lower-case names. (An undici dispatch's head is made by
 * dispatch-input.ts's dispatchHeaders, header by header with
 * {@link pushOutgoing}.)
 */
export function outgoingHeaders(
  headers: Iterable<[string, string]>,
  options: ResolvedOptions,
  decompress = true,
  length?: number,
  names?: ReadonlyMap<string, string>,
): OutgoingHeaders {
  // Each call makes its own list. One shared frozen list for requests
  // without headers was tried (issue 21): about 150 B less allocated per
  // request, but on Node 24 the bytes outliving young GCs went from about
  // 290 to 1,000 per request at 64 in flight, for a reason not found.
  const list: string[] = []
  let seen = 0
  for (const [name, value] of headers) seen |= pushOutgoing(list, name, value, length, names)
  return finishOutgoing(list, seen, options, decompress, length)
}

/** What {@link pushOutgoing} saw of a header, or'ed over a request's headers and handed to {@link finishOutgoing}. */
const SEEN_ACCEPT = 1
const SEEN_USER_AGENT = 2
const SEEN_ACCEPT_ENCODING = 4
const SEEN_CLOSE = 8
const SEEN_IDEMPOTENCY_KEY = 16
const SEEN_RANGE = 32

/**
 * pushOutgoing adds one request header (`name` in lower case) to `list`, the
 * request head undici takes, by the rules of {@link outgoingHeaders}, and
 * returns what it saw of it (flags for {@link finishOutgoing}). It lets a
 * caller that holds headers in another shape than `[name, value]` pairs (an
 * undici dispatch's record, dispatch-input.ts) build the head without them.
 */
export function pushOutgoing(list: string[], name: string, value: string, length?: number, names?: ReadonlyMap<string, string>): number {
  if (HOP_BY_HOP.has(name)) return name === 'connection' && /\bclose\b/i.test(value) ? SEEN_CLOSE : 0
  if (name === 'content-length') {
    if (length !== undefined) return 0
    value = oneLength(value)
  }
  list.push(names?.get(name) ?? name, value)
  if (name === 'accept-encoding') return SEEN_ACCEPT_ENCODING
  if (name === 'accept') return SEEN_ACCEPT
  if (name === 'user-agent') return SEEN_USER_AGENT
  if (name === 'range') return SEEN_RANGE
  return isIdempotencyKey(name) ? SEEN_IDEMPOTENCY_KEY : 0
}

/** finishOutgoing completes a head built with {@link pushOutgoing} (`seen`: its results or'ed): the declared length and the defaults of {@link outgoingHeaders}. */
export function finishOutgoing(list: string[], seen: number, options: ResolvedOptions, decompress: boolean, length?: number): OutgoingHeaders {
  if (length !== undefined) list.push('content-length', String(length))
  if ((seen & SEEN_ACCEPT) === 0) list.push('accept', '*/*')
  if ((seen & SEEN_USER_AGENT) === 0) list.push('user-agent', 'node')
  // Not for a range, as Go's Transport: a range of a compressed representation cannot be decoded on its own.
  if ((seen & (SEEN_ACCEPT_ENCODING | SEEN_RANGE)) === 0 && decompress && !options.disableCompression) list.push('accept-encoding', 'gzip, deflate, br')
  return { list, reset: options.disableKeepAlives || (seen & SEEN_CLOSE) !== 0, keyed: (seen & SEEN_IDEMPOTENCY_KEY) !== 0 }
}

/**
 * oneLength reads a `content-length` that repeats one value (`3, 3`) as that
 * value, as RFC 9110 §8.6 allows: Node 20 and 22's fetch sends the caller's
 * `content-length` joined with its own. Any other value is left for undici
 * to refuse.
 */
function oneLength(value: string): string {
  if (!value.includes(',')) return value
  const values = value.split(',').map((v) => v.trim())
  return values.every((v) => v === values[0]) ? values[0]! : value
}

/** latin1 is a header name or value as a string (undici gives HTTP/1.1 heads as latin1 buffers). */
export function latin1(raw: string | Buffer): string {
  return typeof raw === 'string' ? raw : raw.toString('latin1')
}

/** lowerCase is `name` in lower case: itself when it is already (V8's toLowerCase makes a new string even then). */
export function lowerCase(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 65 && c <= 90) return name.toLowerCase()
  }
  return name
}

/** headersOf builds a Headers from a `[name, value, …]` list. */
export function headersOf(pairs: ReadonlyArray<string | Buffer>): Headers {
  const headers = new Headers()
  for (let i = 0; i < pairs.length; i += 2) headers.append(latin1(pairs[i]!), latin1(pairs[i + 1]!))
  return headers
}

/** isIdempotencyKey says whether lower-case header `name` marks a request as safe to send again (`Idempotency-Key`, `X-Idempotency-Key`; see retry-policy.ts). */
export function isIdempotencyKey(name: string): boolean {
  return name === 'idempotency-key' || name === 'x-idempotency-key'
}
