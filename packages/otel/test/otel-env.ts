import { Transport } from '@roundtrip/transport'
import { afterEach, beforeEach } from 'vitest'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { listen as listenBase, type Origin as BaseOrigin } from '../../../test/loopback.js'

/** A metric reader that collects on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** The SDK pieces a test wires into `otel()`: spans to memory, metrics on demand, W3C propagation. */
export interface Telemetry {
  options: { tracerProvider: BasicTracerProvider; meterProvider: MeterProvider; propagator: W3CTraceContextPropagator }
  tracerProvider: BasicTracerProvider
  spans(): ReadableSpan[]
  /** Collects the metrics now, for points(). */
  collect(): Promise<void>
  /** The data points of the metric `name` at the last collect(). */
  points(name: string): Array<DataPoint<number | Histogram>>
  shutdown(): Promise<void>
}

export function telemetry(): Telemetry {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const propagator = new W3CTraceContextPropagator()
  let collected: Awaited<ReturnType<MetricReader['collect']>> | undefined
  return {
    options: { tracerProvider, meterProvider, propagator },
    tracerProvider,
    spans: () => exporter.getFinishedSpans(),
    points(name) {
      const metrics = collected?.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) ?? []
      return metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<DataPoint<number | Histogram>>)
    },
    async collect() {
      collected = await reader.collect()
    },
    async shutdown() {
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    },
  }
}

/** A loopback server (the shared one) that records the request headers it saw. */
export interface Origin extends BaseOrigin {
  /** Request headers seen, in order. */
  seen: IncomingMessage['headers'][]
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Origin> {
  const seen: IncomingMessage['headers'][] = []
  const origin = await listenBase((req, res) => {
    seen.push(req.headers)
    handler(req, res)
  })
  return { ...origin, seen }
}

/** What each test gets: a Transport, the telemetry, and the servers it started (closed after the test). */
export interface Fixture {
  readonly transport: Transport
  readonly t: Telemetry
  /** Closes `origin` after the test; returns it. */
  serve<O extends { close(): Promise<void> }>(origin: O): O
}

/** useFixture makes a fresh Transport and telemetry before each test and closes them, and the servers, after it. */
export function useFixture(): Fixture {
  const servers: Array<{ close(): Promise<void> }> = []
  const f = {
    transport: undefined as unknown as Transport,
    t: undefined as unknown as Telemetry,
    serve<O extends { close(): Promise<void> }>(origin: O): O {
      servers.push(origin)
      return origin
    },
  }
  beforeEach(() => {
    f.transport = new Transport()
    f.t = telemetry()
  })
  afterEach(async () => {
    await f.transport.close()
    await Promise.all(servers.splice(0).map((s) => s.close()))
    await f.t.shutdown()
  })
  return f
}
