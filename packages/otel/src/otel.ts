import {
  context as otelContext,
  metrics,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Histogram,
  type Span,
  type TextMapSetter,
} from '@opentelemetry/api'
import {
  ERR_BODY_USED,
  deriveRequest,
  forwardLifecycle,
  getContext,
  isRoundTripError,
  observeBody,
  tryRoundTrip,
  withContext,
  type BodyOutcome,
  type Closable,
  type Middleware,
  type RoundTripper,
} from '@roundtrip/core'
import { DEFAULT_REDACTED_QUERY, errorType, normalizeMethod, redactUrlFull, serverOf } from './attributes.js'
import { observeConnections, type StopObserving } from './connections.js'
import { checkOptions, type OtelOptions, type StatsSource } from './options.js'

/** The instrumentation scope name of the tracer and the meter. */
export const INSTRUMENTATION_NAME = '@roundtrip/otel'

/** The bucket boundaries the semantic conventions advise for `http.client.request.duration`, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/**
 * The sends of one logical request, shared through the request context by
 * every request derived from it (retry()'s attempts, createFetch's redirect
 * hops), so that each send knows its `http.request.resend_count`.
 */
interface Sends {
  count: number
}
const kSends: unique symbol = Symbol.for('@roundtrip/otel.sends.v1') as never

declare module '@roundtrip/core' {
  interface RequestContext {
    /** @internal Set by `otel()`: the sends of the logical request this one belongs to. */
    [kSends]?: Sends
  }
}

/** Requests already instrumented once: the same Request object sent again is a new logical request. */
const instrumented = new WeakSet<Request>()

/** The propagator writes into a plain record first: most sends with no active trace get nothing, and no header copy. */
const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value
  },
}

/** resendCount counts this send in its logical request and returns how many sends came before it. */
function resendCount(request: Request): number {
  const sends = instrumented.has(request) ? undefined : getContext(request)[kSends]
  instrumented.add(request)
  if (sends !== undefined) return ++sends.count
  // The caller's request carries the counter (in the context side table; the request itself is untouched),
  // so that the requests derived from it later share it.
  withContext(request, { [kSends]: { count: 0 } })
  return 0
}

/**
 * otel is a middleware that makes one OpenTelemetry client span per HTTP
 * request it sends, following the stable HTTP semantic conventions, writes
 * the span's context into the request headers through the propagator, and
 * records the `http.client.request.duration` histogram (seconds) and, when a
 * Transport is below it, `http.client.open_connections` by state.
 *
 * The span is named for the method (`GET`; `HTTP` for a method the
 * conventions do not know) and carries `http.request.method`
 * (`_OTHER` plus `http.request.method_original` for an unknown one),
 * `url.full` (fragment dropped, credentials and signature query values
 * `REDACTED`), `server.address`, `server.port`, `http.response.status_code`,
 * `error.type` (the status for 4xx/5xx, else the error's `code` or name)
 * and `http.request.resend_count` for the second and later sends of one
 * request — retries and redirect hops alike. Its status is `ERROR` for a
 * 4xx or 5xx response or a failure, unset otherwise.
 *
 * The span and the duration end when the response body settles (read to
 * the end, cancelled, failed, or collected unread), at once for a failure
 * or a response without a body; a body that fails while it is read sets
 * `error.type` and the `ERROR` status.
 *
 * Place it below `retry()` and above any layer that builds new requests, so
 * that it sees each send of the request those layers hold:
 * `compose(transport, retry(), otel())` with `createFetch` above — one span
 * per attempt and per redirect hop, each counted. Above `retry()` it makes
 * one span per call.
 *
 * @throws RoundTripError `RT_INVALID_OPTION` for an unknown option or a value of the wrong shape.
 *
 * @example
 * ```ts
 * const transport = new Transport()
 * const fetch = createFetch(compose(transport, retry(), otel()))
 * ```
 */
export function otel(options?: OtelOptions): Middleware {
  const o = checkOptions(options)
  const meter = (o.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME)
  const duration = meter.createHistogram('http.client.request.duration', {
    description: 'Duration of HTTP client requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  })
  const secret = new Set([...DEFAULT_REDACTED_QUERY, ...(o.redactQuery ?? [])])
  const inject = o.propagator === undefined ? propagation.inject.bind(propagation) : o.propagator.inject.bind(o.propagator)
  // Once, as OpenTelemetry's instrumentations do: before a global provider is
  // registered the API hands out a ProxyTracer, which uses it once it is.
  const tracer = (o.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME)

  return function otelLayer(next: RoundTripper & Closable & Partial<StatsSource>): RoundTripper & Closable {
    const source = o.stats ?? (typeof next.stats === 'function' ? (next as StatsSource) : undefined)
    let stop: StopObserving | undefined = source === undefined ? undefined : observeConnections(meter, source)
    const lifecycle = forwardLifecycle(next)
    const close = async (): Promise<void> => {
      stop?.()
      stop = undefined
      await lifecycle.close()
    }

    const roundTrip = (request: Request): Promise<Response> => {
      const start = performance.now()
      const url = new URL(request.url)
      const method = normalizeMethod(request.method)
      const server = serverOf(url)
      const attributes: Attributes = { 'http.request.method': method, ...server, 'url.full': redactUrlFull(request.url, secret) }
      if (method === '_OTHER') attributes['http.request.method_original'] = request.method
      const resends = resendCount(request)
      if (resends > 0) attributes['http.request.resend_count'] = resends
      const parent = otelContext.active()
      const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.CLIENT, attributes }, parent)
      const active = trace.setSpan(parent, span)

      const added: Record<string, string> = {}
      inject(active, added, headerSetter)
      let sent = request
      const names = Object.keys(added)
      if (names.length > 0) {
        const headers = new Headers(request.headers)
        for (const name of names) headers.set(name, added[name]!)
        sent = deriveRequest(request, { headers })
      }

      const metric: Attributes = { 'http.request.method': method, ...server }
      const end = new Ending(span, duration, metric, start)
      return otelContext.with(active, tryRoundTrip, undefined, next, sent).then(
        (r) => end.responded(r),
        (error: unknown) => {
          end.failed(error)
          throw error
        },
      )
    }
    return { roundTrip, ...lifecycle, close, [Symbol.asyncDispose]: close }
  }
}

/** Ending ends one span and records its duration, once, with the outcome's attributes. */
class Ending {
  #done = false

  constructor(
    readonly span: Span,
    readonly duration: Histogram,
    readonly metric: Attributes,
    readonly start: number,
  ) {}

  responded(response: Response): Response {
    const status = response.status
    this.span.setAttribute('http.response.status_code', status)
    this.metric['http.response.status_code'] = status
    if (status >= 400) {
      this.span.setAttribute('error.type', String(status))
      this.metric['error.type'] = String(status)
      this.span.setStatus({ code: SpanStatusCode.ERROR })
    }
    try {
      return observeBody(response, (outcome: BodyOutcome, reason?: unknown) => this.#bodySettled(outcome, reason))
    } catch (error) {
      // A layer below is already reading the body: the span ends with the head.
      if (!isRoundTripError(error, ERR_BODY_USED)) throw error
      this.#finish()
      return response
    }
  }

  failed(error: unknown): void {
    this.#fail(error)
    this.#finish()
  }

  #bodySettled(outcome: BodyOutcome, reason: unknown): void {
    if (outcome === 'error') this.#fail(reason)
    this.#finish()
  }

  #fail(error: unknown): void {
    const type = errorType(error)
    this.span.setAttribute('error.type', type)
    this.metric['error.type'] = type
    if (error instanceof Error) this.span.recordException(error)
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
  }

  #finish(): void {
    if (this.#done) return
    this.#done = true
    this.duration.record((performance.now() - this.start) / 1000, this.metric)
    this.span.end()
  }
}
