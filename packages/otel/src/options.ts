import { RoundTripError } from '@roundtrip/core'
import type { MeterProvider, TextMapPropagator, TracerProvider } from '@opentelemetry/api'

/** Error code: an option passed to `otel()` is invalid (the message names it). */
export const ERR_INVALID_OPTION = 'RT_INVALID_OPTION'

/**
 * StatsSource is what `otel()` reads connection counts from: the
 * `stats()` of a `@roundtrip/transport` Transport (typed structurally, so
 * this package does not depend on the Transport).
 */
export interface StatsSource {
  /** A snapshot of the pools, keyed `scheme://host:port` (`… via <proxy>` for a proxied pool). */
  stats(): { hosts: Record<string, { active: number; idle: number }> }
}

/** OtelOptions configures {@link otel}. Every option is optional; undefined means the default named. */
export interface OtelOptions {
  /**
   * Where spans go. Default: the global tracer provider
   * (`trace.getTracerProvider()`), whose tracer `otel()` takes once: a
   * provider registered globally later is used from then on (the API's
   * ProxyTracer), one set after `trace.disable()` is not.
   */
  tracerProvider?: TracerProvider
  /** Where metrics go. Default: the global meter provider (`metrics.getMeterProvider()`), read when `otel()` is called. */
  meterProvider?: MeterProvider
  /**
   * How the span's context is written into the request headers
   * (`traceparent`, `tracestate`, `baggage`, …). Default: the global
   * propagator (`propagation.setGlobalPropagator`, which the Node SDK sets to
   * W3C trace context and baggage).
   */
  propagator?: TextMapPropagator
  /**
   * The Transport whose connections `http.client.open_connections` counts.
   * Default: the RoundTripper directly below this middleware, when it has a
   * `stats()` method (a Transport); otherwise no connection metric.
   */
  stats?: StatsSource
  /**
   * Query parameters whose values are replaced by `REDACTED` in `url.full`,
   * besides the defaults of the semantic conventions (`AWSAccessKeyId`,
   * `Signature`, `sig`, `X-Goog-Signature`). Names match exactly.
   */
  redactQuery?: readonly string[]
}

const KNOWN = new Set(['tracerProvider', 'meterProvider', 'propagator', 'stats', 'redactQuery'])

function invalid(message: string): RoundTripError {
  return new RoundTripError(ERR_INVALID_OPTION, `otel: ${message}`)
}

function hasMethod(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function'
}

/** checkOptions throws `RT_INVALID_OPTION` for an unknown option or a value of the wrong shape. */
export function checkOptions(options: unknown): OtelOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) throw invalid(`options must be an object (got ${String(options)})`)
  for (const name of Object.keys(options)) if (!KNOWN.has(name)) throw invalid(`unknown option ${JSON.stringify(name)} (known: ${[...KNOWN].join(', ')})`)
  const o = options as Record<string, unknown>
  if (o['tracerProvider'] !== undefined && !hasMethod(o['tracerProvider'], 'getTracer')) throw invalid('tracerProvider must have a getTracer() method')
  if (o['meterProvider'] !== undefined && !hasMethod(o['meterProvider'], 'getMeter')) throw invalid('meterProvider must have a getMeter() method')
  if (o['propagator'] !== undefined && !hasMethod(o['propagator'], 'inject')) throw invalid('propagator must have an inject() method')
  if (o['stats'] !== undefined && !hasMethod(o['stats'], 'stats')) throw invalid('stats must have a stats() method (a Transport)')
  const redact = o['redactQuery']
  if (redact !== undefined && (!Array.isArray(redact) || redact.some((n) => typeof n !== 'string'))) throw invalid('redactQuery must be an array of strings')
  return options as OtelOptions
}
