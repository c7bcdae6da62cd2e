import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { compose, withReplayableBody } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, readBody, startServer, type TestServer } from '../../test/server.js'
import { RetryBudget } from './budget.js'
import type { RetryInfo, RetryOptions } from './options.js'
import { retry } from './retry.js'

let server: TestServer
const bodies: string[] = []
/** The client port of each request, in order. */
const ports: (number | undefined)[] = []
beforeAll(async () => {
  server = await startServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const path = url.pathname
    ports.push(req.socket.remotePort)
    const n = server.count(path)
    const failFirst = Number(url.searchParams.get('fail') ?? 0)
    if (path === '/reset') {
      req.socket.destroy()
      return
    }
    if (path === '/hold-503') {
      // A failing response whose body never ends: only a cancel frees its connection.
      res.writeHead(503, { 'content-type': 'text/plain' })
      if (n <= failFirst) res.write(Buffer.alloc(1024, 'x'))
      else res.end()
      return
    }
    if (path === '/retry-after') {
      res.writeHead(503, { 'retry-after': url.searchParams.get('after') ?? '' }).end()
      return
    }
    void readBody(req).then((body) => {
      bodies.push(body)
      if (n <= failFirst) res.writeHead(Number(url.searchParams.get('status') ?? 503)).end('failed')
      else res.end(`ok ${n}`)
    })
  })
})
afterAll(() => server.close())

let transport: Transport | undefined
afterEach(async () => {
  bodies.length = 0
  ports.length = 0
  server.hits.clear()
  await transport?.close()
})

/** A retry over a fresh Transport, with no waiting: the injected sleep records the delays. */
function client(options: RetryOptions = {}): { roundTrip(r: Request): Promise<Response>; delays: number[]; retries: RetryInfo[] } {
  transport = new Transport()
  const delays: number[] = []
  const retries: RetryInfo[] = []
  const rt = compose(
    transport,
    retry({
      sleep: async (ms) => {
        delays.push(ms)
      },
      onRetry: (info) => retries.push(info),
      ...options,
    }),
  )
  return { roundTrip: (r) => rt.roundTrip(r), delays, retries }
}

describe('retry over the Transport', () => {
  it('retries a GET answered 503 until it succeeds; the server sees every attempt and no connection stays active', async () => {
    const c = client()
    const response = await c.roundTrip(new Request(`${server.origin}/a?fail=2`))
    expect(await response.text()).toBe('ok 3')
    expect(server.count('/a')).toBe(3)
    expect(c.retries.map((r) => [r.attempt, r.status])).toEqual([
      [2, 503],
      [3, 503],
    ])
    expect(transport!.stats().total.active).toBe(0)
  })

  it('returns the last response after limit retries', async () => {
    const c = client({ limit: 1 })
    const response = await c.roundTrip(new Request(`${server.origin}/a?fail=5`))
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('failed')
    expect(server.count('/a')).toBe(2)
  })

  it('cancels the body of every discarded response at once, so a one-connection Transport is free again', async () => {
    transport = new Transport({ maxConnsPerHost: 1 })
    const rt = compose(transport, retry({ sleep: async () => {} }))
    const response = await rt.roundTrip(new Request(`${server.origin}/hold-503?fail=2`))
    expect(response.status).toBe(503)
    await response.text()
    expect(server.count('/hold-503')).toBe(3)
    // Each held body was cancelled, which closes its connection: three connections, none active.
    expect(transport.stats().total).toMatchObject({ active: 0, dials: 3 })
  })

  it('reads the small body of a discarded 503 before it resends: through createFetch, the retry goes out on the same connection', async () => {
    const t = new Transport({ raceDial: false })
    transport = t
    const f = createFetch(compose(t, retry({ sleep: async () => {} })))
    const accepted = server.connections
    // The first GET is answered 503 with a small body ('failed', in the read that brings the head), the second 200.
    const response = await f(`${server.origin}/small-503?fail=1`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok 2')
    expect(server.count('/small-503')).toBe(2)
    // One connection for both: the discarded body was released whole, so its connection was idle again for the retry.
    expect(server.connections - accepted).toBe(1)
    expect(ports).toHaveLength(2)
    expect(ports[1]).toBe(ports[0])
    expect(t.stats().total).toMatchObject({ active: 0, idle: 1, dials: 1 })
  })

  it('does not retry a POST answered 503 (not idempotent)', async () => {
    const c = client()
    const response = await c.roundTrip(new Request(`${server.origin}/a?fail=1`, { method: 'POST', body: 'x' }))
    expect(response.status).toBe(503)
    await response.body?.cancel()
    expect(server.count('/a')).toBe(1)
  })

  it('replays a declared body for a POST with an Idempotency-Key: the server gets the same bytes each time', async () => {
    const c = client()
    const bytes = new TextEncoder().encode('{"order":42}')
    const request = withReplayableBody(
      new Request(`${server.origin}/a?fail=1`, { method: 'POST', body: bytes, headers: { 'idempotency-key': 'k1' } }),
      { length: bytes.byteLength, getBody: () => bytes },
    )
    const response = await c.roundTrip(request)
    expect(await response.text()).toBe('ok 2')
    expect(bodies).toEqual(['{"order":42}', '{"order":42}'])
  })

  it('never replays a stream body: the first response is returned and the server saw one request with the whole body', async () => {
    const c = client()
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'))
        controller.close()
      },
    })
    const request = new Request(`${server.origin}/a?fail=1`, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
    } as RequestInit)
    const response = await c.roundTrip(request)
    expect(response.status).toBe(503)
    await response.body?.cancel()
    expect(server.count('/a')).toBe(1)
    expect(bodies).toEqual(['streamed'])
    expect(c.retries).toEqual([])
  })

  it('retries a connection refused for any method with a replayable body, then rejects with the code', async () => {
    const c = client()
    const bytes = new TextEncoder().encode('x')
    const request = withReplayableBody(new Request(`${await closedPort()}/`, { method: 'POST', body: bytes }), {
      length: 1,
      getBody: () => bytes,
    })
    await expect(c.roundTrip(request)).rejects.toMatchObject({ code: 'RT_CONNECT_REFUSED' })
    expect(c.retries.map((r) => r.attempt)).toEqual([2, 3])
    expect(c.retries[0]!.error).toMatchObject({ code: 'RT_CONNECT_REFUSED' })
  })

  it('retries a connection closed before the response for a GET, not for a POST', async () => {
    const c = client()
    await expect(c.roundTrip(new Request(`${server.origin}/reset`))).rejects.toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    expect(server.count('/reset')).toBe(3)
    server.hits.clear()
    await expect(c.roundTrip(new Request(`${server.origin}/reset`, { method: 'POST' }))).rejects.toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    expect(server.count('/reset')).toBe(1)
  })

  it('honours Retry-After in seconds and as an HTTP date, read against the injected clock', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0)
    const c = client({ limit: 1, now: () => now })
    await (await c.roundTrip(new Request(`${server.origin}/retry-after?after=3`))).body?.cancel()
    const date = new Date(now + 7_000).toUTCString()
    await (await c.roundTrip(new Request(`${server.origin}/retry-after?after=${encodeURIComponent(date)}`))).body?.cancel()
    expect(c.delays).toEqual([3_000, 7_000])
    expect(server.count('/retry-after')).toBe(4)
  })

  it('returns the response when Retry-After asks for more than maxRetryAfter', async () => {
    const c = client({ maxRetryAfter: 60_000 })
    const response = await c.roundTrip(new Request(`${server.origin}/retry-after?after=120`))
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('120')
    expect(server.count('/retry-after')).toBe(1)
    expect(c.delays).toEqual([])
  })

  it('waits with exponential backoff and full jitter, capped by max', async () => {
    const c = client({ limit: 4, backoff: { base: 100, max: 300 }, random: () => 0.999 })
    await (await c.roundTrip(new Request(`${server.origin}/a?fail=9`))).body?.cancel()
    expect(c.delays).toEqual([99, 199, 299, 299])
    const zero = client({ limit: 2, random: () => 0 })
    await (await zero.roundTrip(new Request(`${server.origin}/a?fail=9`))).body?.cancel()
    expect(zero.delays).toEqual([])
  })

  it('the budget caps the traffic a 100%-failing upstream gets', async () => {
    const budget = new RetryBudget({ ratio: 0.1, reserve: 2 })
    const c = client({ budget })
    // A path of its own: no other test's hits are counted with these.
    const url = `${server.origin}/budget?fail=1000`
    const calls = 20
    for (let i = 0; i < calls; i++) await (await c.roundTrip(new Request(url))).body?.cancel()
    // Without a budget: 3 × 20 = 60 requests. With it: 20 + at most 2 (the reserve) + 0.1 × 20.
    const hits = server.count('/budget')
    expect(hits).toBeGreaterThan(calls)
    expect(hits).toBeLessThanOrEqual(calls + 2 + 2)
    expect(c.retries).toHaveLength(hits - calls)
    expect(budget.tokens).toBeLessThan(1)
  })

  it('rejects at once with the signal reason when aborted during the backoff, leaving no timer', async () => {
    transport = new Transport()
    const controller = new AbortController()
    const rt = compose(
      transport,
      retry({ backoff: { base: 60_000, max: 60_000 }, random: () => 0.5, onRetry: () => queueMicrotask(() => controller.abort(new Error('stop'))) }),
    )
    const started = Date.now()
    await expect(rt.roundTrip(new Request(`${server.origin}/a?fail=9`, { signal: controller.signal }))).rejects.toThrow('stop')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(server.count('/a')).toBe(1)
  })

  it('never retries a protocol error', async () => {
    const sockets = new Set<Socket>()
    const raw: Server = createNetServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2x\r\n\r\nok'))
    })
    let accepted = 0
    raw.on('connection', () => accepted++)
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
    try {
      const c = client()
      const port = (raw.address() as { port: number }).port
      await expect(c.roundTrip(new Request(`http://127.0.0.1:${port}/`))).rejects.toMatchObject({ code: 'RT_PROTOCOL_ERROR' })
      expect(accepted).toBe(1)
      expect(c.retries).toEqual([])
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => raw.close(() => resolve()))
    }
  })

  it('rejects bad options with RT_INVALID_OPTION', () => {
    expect(() => retry({ limit: -1 })).toThrow(/retry: limit must be a non-negative integer/)
    expect(() => retry({ backoff: { base: Number.NaN } })).toThrow(/backoff.base/)
    expect(() => retry({ sleep: 1 as never })).toThrow(/sleep must be a function/)
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/ratio/)
  })
})
