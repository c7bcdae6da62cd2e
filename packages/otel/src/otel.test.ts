import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { retry } from '@roundtrip/middleware'
import { describe, expect, it } from 'vitest'
import { listen, useFixture } from '../test/otel-env.js'
import { otel } from './index.js'

const f = useFixture()

describe('otel(): client spans', () => {
  it('makes one CLIENT span named for the method, with the stable HTTP attributes, ended when the body is read', async () => {
    const origin = f.serve(await listen((_req, res) => res.end('hello')))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    const response = await fetch(`${origin.url}/items?q=1#top`)
    expect(f.t.spans()).toHaveLength(0)
    expect(await response.text()).toBe('hello')
    const [span] = f.t.spans()
    expect(span?.name).toBe('GET')
    expect(span?.kind).toBe(SpanKind.CLIENT)
    expect(span?.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': origin.port,
      'url.full': `${origin.url}/items?q=1`,
      'http.response.status_code': 200,
    })
    expect(span?.status.code).toBe(SpanStatusCode.UNSET)
  })

  it('writes the span context into the request headers through the propagator', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    await (await fetch(origin.url)).text()
    const span = f.t.spans()[0]!
    expect(origin.seen[0]?.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`)
  })

  it('makes the span a child of the active span', async () => {
    const manager = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(manager)
    try {
      const origin = f.serve(await listen((_req, res) => res.end()))
      const fetch = createFetch(compose(f.transport, otel(f.t.options)))
      const parent = f.t.tracerProvider.getTracer('test').startSpan('parent')
      await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => (await fetch(origin.url)).text())
      parent.end()
      const client = f.t.spans().find((s) => s.name === 'GET')!
      expect(client.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
      expect(client.spanContext().traceId).toBe(parent.spanContext().traceId)
      expect(origin.seen[0]?.traceparent).toContain(parent.spanContext().traceId)
    } finally {
      context.disable()
    }
  })

  it('sends spans to a global tracer provider registered after otel() was called, as OpenTelemetry instrumentations do', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const fetch = createFetch(compose(f.transport, otel({ meterProvider: f.t.options.meterProvider })))
    await (await fetch(`${origin.url}/before`)).text()
    expect(trace.setGlobalTracerProvider(f.t.tracerProvider)).toBe(true)
    try {
      await (await fetch(`${origin.url}/after`)).text()
    } finally {
      trace.disable()
    }
    expect(f.t.spans().map((s) => s.attributes['url.full'])).toEqual([`${origin.url}/after`])
  })

  it('sets ERROR and error.type to the status for a 4xx or 5xx response', async () => {
    const origin = f.serve(await listen((_req, res) => res.writeHead(503).end('busy')))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    await (await fetch(origin.url)).text()
    const span = f.t.spans()[0]!
    expect(span.attributes['http.response.status_code']).toBe(503)
    expect(span.attributes['error.type']).toBe('503')
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('sets ERROR, error.type to the code and records the exception when the request fails', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const url = origin.url
    await origin.close()
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    await expect(fetch(url)).rejects.toThrow('fetch failed')
    const span = f.t.spans()[0]!
    expect(span.attributes['error.type']).toBe('RT_CONNECT_REFUSED')
    expect(span.attributes['http.response.status_code']).toBeUndefined()
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.events.map((e) => e.name)).toEqual(['exception'])
  })

  it('sets error.type when the body fails while it is read', async () => {
    const origin = f.serve(await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('ab', () => res.destroy())
    }))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    const response = await fetch(origin.url)
    await expect(response.text()).rejects.toThrow()
    const span = f.t.spans()[0]!
    expect(span.attributes['http.response.status_code']).toBe(200)
    expect(span.attributes['error.type']).toBe('RT_SOCKET_CLOSED')
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('counts http.request.resend_count across retries and redirects, one span per send', async () => {
    let calls = 0
    const origin = f.serve(await listen((req, res) => {
      calls++
      if (req.url === '/start' && calls === 1) res.writeHead(503).end()
      else if (req.url === '/start') res.writeHead(302, { location: '/end' }).end()
      else res.end('done')
    }))
    const fetch = createFetch(compose(f.transport, retry({ backoff: { base: 1, max: 1 } }), otel(f.t.options)))
    expect(await (await fetch(`${origin.url}/start`)).text()).toBe('done')
    const spans = f.t.spans()
    expect(spans.map((s) => [s.attributes['http.response.status_code'], s.attributes['http.request.resend_count']])).toEqual([
      [503, undefined],
      [302, 1],
      [200, 2],
    ])
    expect(spans[2]?.attributes['url.full']).toBe(`${origin.url}/end`)
    // Each send is its own span with its own context on the wire.
    expect(new Set(origin.seen.map((h) => h.traceparent)).size).toBe(3)
  })

  it('starts the count again when the same Request is sent again', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const rt = compose(f.transport, otel(f.t.options))
    const request = new Request(origin.url)
    await (await rt.roundTrip(request)).text()
    await (await rt.roundTrip(request)).text()
    expect(f.t.spans().map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, undefined])
  })

  it('redacts credentials-like query values and reports an unknown method as _OTHER', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const fetch = createFetch(compose(f.transport, otel({ ...f.t.options, redactQuery: ['token'] })))
    await (await fetch(`${origin.url}/f?sig=s3cret&X-Goog-Signature=x&token=t&keep=1`, { method: 'PURGE' })).text()
    const span = f.t.spans()[0]!
    expect(span.name).toBe('HTTP')
    expect(span.attributes['http.request.method']).toBe('_OTHER')
    expect(span.attributes['http.request.method_original']).toBe('PURGE')
    expect(span.attributes['url.full']).toBe(`${origin.url}/f?sig=REDACTED&X-Goog-Signature=REDACTED&token=REDACTED&keep=1`)
  })

  it('rejects an unknown option with RT_INVALID_OPTION', () => {
    expect(() => otel({ tracer: {} } as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION', message: expect.stringContaining('"tracer"') }))
    expect(() => otel({ propagator: {} } as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
  })
})
