import { withResponseInfo } from '@roundtrip/core'
import { ERR_MOCK_INVALID, TestingError } from './errors.js'
import {
  compileUrl,
  testBody,
  testHeaders,
  testQuery,
  type BodyMatcher,
  type HeadersMatcher,
  type MatchResult,
  type QueryMatcher,
  type RequestFacts,
  type UrlMatcher,
  type UrlPattern,
} from './matchers.js'
import { buildResponse, checkStatus, type ReplyBody, type ReplyInit, type ReplySpec } from './reply-body.js'

/** InterceptOptions say which requests an interceptor answers; every given facet must match. */
export interface InterceptOptions {
  /** The method, case-insensitive. Default `GET`. */
  method?: string
  /** The URL: see {@link UrlMatcher}. */
  url: UrlMatcher
  /** Headers the request must have: see {@link HeadersMatcher}. */
  headers?: HeadersMatcher
  /** The request body: see {@link BodyMatcher}. */
  body?: BodyMatcher
  /** Query parameters the request must have: see {@link QueryMatcher}. */
  query?: QueryMatcher
}

/** ReplyContext is what a reply function gets besides the request. */
export interface ReplyContext {
  /** The `:name` values of a string URL pattern. */
  params: Record<string, string>
  /** The request body as bytes (`null` when the request has none); the request's own body is left unread. */
  body: Uint8Array | null
}

/**
 * ReplyFunction computes a reply from the request: a `Response` (its `url`
 * is set to the request's when empty), or a {@link ReplySpec}.
 */
export type ReplyFunction = (request: Request, context: ReplyContext) => Response | ReplySpec | Promise<Response | ReplySpec>

type Reply =
  | { kind: 'static'; status: number; body: ReplyBody; init: ReplyInit; streamUsed: boolean }
  | { kind: 'function'; fn: ReplyFunction }
  | { kind: 'error'; error: unknown }

/**
 * Interceptor is one expected request and its reply, made by
 * `MockTransport.intercept()`. It answers once unless `times(n)` or
 * `persist()` says otherwise. Its setters return the interceptor, so they
 * chain: `mock.intercept({ url }).reply(200, 'ok').times(2).delay(50)`.
 */
export class Interceptor {
  readonly #method: string
  readonly #url: UrlPattern
  readonly #options: InterceptOptions
  #reply: Reply | undefined
  #delay = 0
  #times = 1
  #persist = false
  #calls = 0

  /** @internal Use `MockTransport.intercept()`. */
  constructor(options: InterceptOptions) {
    if (typeof options !== 'object' || options === null) throw new TestingError(ERR_MOCK_INVALID, 'intercept: expected an options object with at least a url')
    if (options.method !== undefined && (typeof options.method !== 'string' || options.method === '')) {
      throw new TestingError(ERR_MOCK_INVALID, `intercept: method must be a non-empty string, got ${String(options.method)}`)
    }
    this.#method = (options.method ?? 'GET').toUpperCase()
    this.#url = compileUrl(options.url)
    this.#options = options
  }

  /** How the interceptor reads in messages: method, URL pattern and the other facets it looks at. */
  get description(): string {
    const extra = (['query', 'headers', 'body'] as const).filter((k) => this.#options[k] !== undefined)
    return `${this.#method} ${this.#url.text}${extra.length > 0 ? ` (with ${extra.join(', ')})` : ''}`
  }

  /** How many times it has answered. */
  get calls(): number {
    return this.#calls
  }

  /** Whether it can still answer. */
  get remaining(): boolean {
    return this.#persist || this.#calls < this.#times
  }

  /** Whether it is still expected to be called: unused answers left, or persisted and never called. */
  get pending(): boolean {
    return this.#persist ? this.#calls === 0 : this.#calls < this.#times
  }

  /** What `assertNoPendingInterceptors` says about it. */
  get progress(): string {
    return this.#persist ? `persisted, called ${this.#calls} times` : `called ${this.#calls} of ${this.#times} times`
  }

  /**
   * reply sets the answer: `reply(status, body?, init?)`, or
   * `reply((request, { params, body }) => Response | { status, body, headers })`.
   * Bodies are described by {@link ReplyBody}.
   *
   * @throws TestingError `RT_MOCK_INVALID` for a status outside 200–599.
   */
  reply(status: number, body?: ReplyBody, init?: ReplyInit): this
  reply(fn: ReplyFunction): this
  reply(statusOrFn: number | ReplyFunction, body?: ReplyBody, init: ReplyInit = {}): this {
    if (typeof statusOrFn === 'function') this.#reply = { kind: 'function', fn: statusOrFn }
    else this.#reply = { kind: 'static', status: checkStatus(statusOrFn, `reply for ${this.description}`), body, init, streamUsed: false }
    return this
  }

  /** replyWithError makes the request reject with `error`, as a network failure would. */
  replyWithError(error: unknown): this {
    this.#reply = { kind: 'error', error }
    return this
  }

  /** delay waits `ms` milliseconds before answering. An abort during the wait rejects at once with the signal's reason. */
  delay(ms: number): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TestingError(ERR_MOCK_INVALID, `delay: expected milliseconds >= 0, got ${String(ms)}`)
    this.#delay = ms
    return this
  }

  /** times lets it answer `n` requests (default 1). */
  times(n: number): this {
    if (!Number.isInteger(n) || n < 1) throw new TestingError(ERR_MOCK_INVALID, `times: expected an integer >= 1, got ${String(n)}`)
    this.#times = n
    this.#persist = false
    return this
  }

  /** persist lets it answer any number of requests. */
  persist(): this {
    this.#persist = true
    return this
  }

  /** @internal Tests the request against every facet. */
  match(facts: RequestFacts): MatchResult {
    const reasons: string[] = []
    let score = 0
    if (facts.method === this.#method) score++
    else reasons.push(`method is ${facts.method}, expected ${this.#method}`)
    const url = this.#url.test(facts.url)
    score += url.matched
    reasons.push(...url.reasons)
    const facets: Array<[unknown, () => string[]]> = [
      [this.#options.query, () => testQuery(this.#options.query!, facts.url.searchParams)],
      [this.#options.headers, () => testHeaders(this.#options.headers!, facts.headers)],
      [this.#options.body, () => testBody(this.#options.body!, facts.body)],
    ]
    for (const [given, test] of facets) {
      if (given === undefined) continue
      const failed = test()
      if (failed.length === 0) score++
      reasons.push(...failed)
    }
    if (reasons.length === 0 && !this.remaining) reasons.push(`already answered ${this.progress.replace('called ', '')} (use .times(n) or .persist() to answer more)`)
    return { params: url.params, reasons, score }
  }

  /** @internal Counts the call and returns how to answer it. */
  take(): { delay: number; answer: (request: Request, context: ReplyContext) => Promise<Response> } {
    this.#calls++
    const reply = this.#reply
    const description = this.description
    return {
      delay: this.#delay,
      answer: async (request, context) => {
        if (reply === undefined) throw new TestingError(ERR_MOCK_INVALID, `interceptor ${description} matched ${request.method} ${request.url} but has no reply: call .reply() or .replyWithError()`)
        if (reply.kind === 'error') throw reply.error
        if (reply.kind === 'static') {
          if (reply.body instanceof ReadableStream) {
            if (reply.streamUsed) throw new TestingError(ERR_MOCK_INVALID, `interceptor ${description} replies with a stream, which can be sent once: reply with a function to make a new stream per request`)
            reply.streamUsed = true
          }
          return buildResponse(request, reply.status, reply.body, reply.init)
        }
        const out = await reply.fn(request, context)
        if (out instanceof Response) return out.url === '' ? withResponseInfo(out, { url: request.url, redirected: false }) : out
        if (typeof out !== 'object' || out === null) {
          throw new TestingError(ERR_MOCK_INVALID, `the reply function of ${description} returned ${out === null ? 'null' : typeof out}: return a Response or { status, body, headers }`)
        }
        return buildResponse(request, checkStatus(out.status ?? 200, `reply function of ${description}`), out.body, out)
      },
    }
  }
}
