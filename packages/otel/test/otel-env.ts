import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { W3CTraceContextPropagator } from '@opentelemetry/core'

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

/** A loopback node:http server that closes every socket it accepted on close(). */
export interface Origin {
  url: string
  port: number
  /** Request headers seen, in order. */
  seen: IncomingMessage['headers'][]
  close(): Promise<void>
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Origin> {
  const seen: IncomingMessage['headers'][] = []
  const server: Server = createServer((req, res) => {
    seen.push(req.headers)
    handler(req, res)
  })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
