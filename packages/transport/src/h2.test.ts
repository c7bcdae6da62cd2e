import { createHash } from 'node:crypto'
import { withContext } from '@roundtrip/core'
import type { Settings } from 'node:http2'
import { beforeAll, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server, type H2Handler, type H2TestServer } from '../test/h2.js'
import { certificate, httpsServer } from '../test/tls.js'
import { closedPort, deferred, rejection } from '../test/util.js'
import type { GotConnInfo } from './trace.js'
import { Transport } from './transport.js'
import type { TransportOptions } from './options.js'

const f = useFixture()

let pem: { key: string; cert: string }
beforeAll(async () => {
  pem = await certificate()
})

const echoPath: H2Handler = (req, res) => res.end(`h2 ${req.url}`)

function h2Transport(options: TransportOptions = {}): Transport {
  return f.use(new Transport({ tls: { ca: pem.cert }, ...options }))
}

/**
 * setUp starts an HTTP/2 server answering with `handler` — over TLS with the
 * test's certificate, or h2c — and a Transport for it (trusting that
 * certificate, or with `protocols: ['h2c']`); both close after the test.
 */
async function setUp(
  handler: H2Handler,
  { h2c = false, transport = {}, ...server }: { h2c?: boolean; transport?: TransportOptions; settings?: Settings; allowHTTP1?: boolean } = {},
): Promise<{ server: H2TestServer; transport: Transport }> {
  return {
    server: f.serve(await startH2Server(handler, h2c ? server : { ...server, pem })),
    transport: h2c ? f.use(new Transport({ protocols: ['h2c'], ...transport })) : h2Transport(transport),
  }
}

/**
 * gate holds every request it is given until `release()`, answering them
 * with `answer` then (and later ones at once); `arrived` resolves once `n`
 * are held, that is in flight at the server.
 */
function gate(n: number, answer: H2Handler): { handler: H2Handler; arrived: Promise<void>; release(): void } {
  const held: Array<() => void> = []
  const arrived = deferred()
  let released = false
  return {
    handler: (req, res) => {
      if (released) return answer(req, res)
      held.push(() => answer(req, res))
      if (held.length === n) arrived.resolve()
    },
    arrived: arrived.promise,
    release() {
      released = true
      for (const respond of held.splice(0)) respond()
    },
  }
}

describe('HTTP/2 over TLS (ALPN h2)', () => {
  it('sends 100 concurrent requests to a fresh origin over one connection: requests arriving during the first dial wait for it', async () => {
    // The server answers once all 100 are in flight.
    const all = gate(100, echoPath)
    const { server, transport } = await setUp(all.handler)
    const infos: GotConnInfo[] = []
    const trace = { gotConn: (info: GotConnInfo) => infos.push(info) }
    const bodies = Promise.all(
      Array.from({ length: 100 }, async (_, i) => (await transport.roundTrip(withContext(new Request(`${server.origin}/${i}`), { trace }))).text()),
    )
    await all.arrived
    all.release()
    expect(await bodies).toEqual(Array.from({ length: 100 }, (_, i) => `h2 /${i}`))
    expect(server.sessions()).toBe(1)
    expect(server.maxInFlight()).toBe(100)
    expect(infos.every((info) => info.protocol === 'h2')).toBe(true)
    expect(infos.filter((info) => info.shared).length).toBeGreaterThan(50)
    const total = transport.stats().total
    expect(total).toMatchObject({ dials: 1, requests: 100, reusedRequests: 99, active: 0, idle: 1, streams: 0 })
    expect(total.http2).toEqual([{ streams: 0, maxConcurrentStreams: 1000, requests: 100, goingAway: false }])
  })

  it('fails the requests that waited for the first dial with its error, after one dial', async () => {
    const transport = h2Transport()
    const port = await closedPort()
    const errors = await Promise.all(Array.from({ length: 10 }, () => rejection(transport.roundTrip(new Request(`https://127.0.0.1:${port}/`)))))
    expect(errors.map((e) => e.code)).toEqual(Array.from({ length: 10 }, () => 'RT_CONNECT_REFUSED'))
    expect(transport.stats().total).toMatchObject({ dials: 1, waiting: 0, dialing: 0 })
  })

  it("opens another connection past the server's SETTINGS_MAX_CONCURRENT_STREAMS, or waits for a stream with strictMaxConcurrentStreams", async () => {
    const ok: H2Handler = (_req, res) => res.end('ok')
    const settings = { maxConcurrentStreams: 10 }
    // A warm conn knows the server's limit; the server holds the 40 requests after it until 11 are in flight.
    const past = gate(11, ok)
    const { server: looseServer, transport: loose } = await setUp((req, res) => (req.url === '/warm' ? ok(req, res) : past.handler(req, res)), { settings })
    await (await loose.roundTrip(new Request(`${looseServer.origin}/warm`))).text()
    const loosePending = Promise.all(Array.from({ length: 40 }, async () => (await loose.roundTrip(new Request(looseServer.origin))).text()))
    await past.arrived
    past.release()
    expect(await loosePending).toEqual(Array.from({ length: 40 }, () => 'ok'))
    expect(looseServer.sessions()).toBeGreaterThan(1)
    expect(looseServer.maxInFlight()).toBeGreaterThan(10)
    // A conn still being set up when the last answer came counts the default (100) until the server's SETTINGS: it carried nothing.
    expect(new Set(loose.stats().total.http2.filter((c) => c.requests > 0).map((c) => c.maxConcurrentStreams))).toEqual(new Set([10]))

    // The server holds the 40 requests until 10 are in flight: the others wait for a stream.
    const full = gate(10, ok)
    const { server, transport: strict } = await setUp((req, res) => (req.url === '/warm' ? ok(req, res) : full.handler(req, res)), {
      settings,
      transport: { http2: { strictMaxConcurrentStreams: true } },
    })
    await (await strict.roundTrip(new Request(`${server.origin}/warm`))).text()
    const before = server.sessions()
    const pending = Array.from({ length: 40 }, async () => (await strict.roundTrip(new Request(server.origin))).text())
    await full.arrived
    expect(strict.stats().total).toMatchObject({ streams: 10, waiting: 30 })
    full.release()
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 40 }, () => 'ok'))
    expect(server.sessions() - before).toBe(0)
    expect(server.maxInFlight()).toBe(10)
  })

  it('falls back to HTTP/1.1 pooling when ALPN picks http/1.1: the requests that waited for the first dial get their own, within maxConnsPerHost', async () => {
    const server = await httpsServer(pem)
    f.serve(server)
    const transport = h2Transport({ maxConnsPerHost: 4 })
    const infos: GotConnInfo[] = []
    const trace = { gotConn: (info: GotConnInfo) => infos.push(info) }
    const bodies = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await transport.roundTrip(withContext(new Request(`${server.origin}/${i}`), { trace }))).text()),
    )
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `secure /${i}`))
    expect(server.connections()).toBe(4)
    expect(new Set(infos.map((i) => i.protocol))).toEqual(new Set(['http/1.1']))
    expect(transport.stats().total).toMatchObject({ dials: 4, streams: 0, http2: [] })
  })

  it("with protocols ['http2'] refuses a server that does not negotiate h2, and with ['http1'] never offers it", async () => {
    const h1 = await httpsServer(pem)
    f.serve(h1)
    const error = await rejection(h2Transport({ protocols: ['http2'] }).roundTrip(new Request(h1.origin)))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    // Node's https server ends the handshake itself when nothing it speaks is offered.
    expect(error.message).toMatch(/no application protocol/)
    const { server, transport } = await setUp(echoPath, { allowHTTP1: true, transport: { protocols: ['http1'] } })
    const infos: GotConnInfo[] = []
    const response = await transport.roundTrip(withContext(new Request(`${server.origin}/one`), { trace: { gotConn: (i) => infos.push(i) } }))
    expect(await response.text()).toBe('h2 /one')
    expect(infos[0]?.protocol).toBe('http/1.1')
  })

  it('holds a stream, not the connection, for an unread body: other requests on the conn go on, and cancel frees the stream', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 7)
    let bigFinished = false
    const { server, transport } = await setUp(
      (req, res) => {
        if (req.url !== '/big') return res.end('small')
        res.on('finish', () => (bigFinished = true))
        res.end(big)
      },
      { transport: { http2: { initialWindowSize: 256 * 1024 } } },
    )
    const leaked = await transport.roundTrip(new Request(`${server.origin}/big`))
    for (let i = 0; i < 20; i++) expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('small')
    expect(server.sessions()).toBe(1)
    expect(bigFinished).toBe(false)
    const stats = transport.stats().total
    expect(stats).toMatchObject({ streams: 1, active: 1 })
    expect(stats.holders).toEqual([expect.objectContaining({ method: 'GET', url: `${server.origin}/big` })])
    await leaked.body!.cancel()
    expect(transport.stats().total).toMatchObject({ streams: 0, active: 0, idle: 1 })
  })

  it('carries large bodies both ways with back-pressure', async () => {
    const { server, transport } = await setUp((req, res) => {
        const hash = createHash('sha256')
        let size = 0
        req.on('data', (chunk: Buffer) => {
          size += chunk.length
          hash.update(chunk)
        })
        req.on('end', () => {
          const n = Number(new URL(req.url, 'http://x').searchParams.get('n'))
          res.setHeader('x-upload', `${size} ${hash.digest('hex')}`)
          res.end(Buffer.alloc(n, 1))
        })
      })
    const chunk = new Uint8Array(64 * 1024).fill(3)
    let sent = 0
    const upload = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4 * 1024 * 1024) return controller.close()
        sent += chunk.length
        controller.enqueue(chunk)
      },
    })
    const request = new Request(`${server.origin}/up?n=${4 * 1024 * 1024}`, { method: 'POST', body: upload, duplex: 'half' } as RequestInit)
    const response = await transport.roundTrip(request)
    const expected = createHash('sha256')
    for (let i = 0; i < 64; i++) expected.update(chunk)
    expect(response.headers.get('x-upload')).toBe(`${4 * 1024 * 1024} ${expected.digest('hex')}`)
    expect((await response.arrayBuffer()).byteLength).toBe(4 * 1024 * 1024)
  })
})

describe('h2c (HTTP/2 with prior knowledge)', () => {
  it("speaks HTTP/2 to http: URLs with protocols ['h2c'], multiplexing on one connection", async () => {
    const { server, transport } = await setUp(echoPath, { h2c: true })
    const bodies = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await transport.roundTrip(new Request(`${server.origin}/${i}`))).text()))
    expect(bodies).toEqual(Array.from({ length: 30 }, (_, i) => `h2 /${i}`))
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 30 })
  })

  it("sends a request whose connection-specific headers HTTP/2 forbids (HTTP2-Settings, keep-alive, te: gzip…) without them, as over HTTP/1.1", async () => {
    const seen: Array<Record<string, unknown>> = []
    const { server, transport } = await setUp((req, res) => (seen.push({ ...req.headers }), res.end('ok')), { h2c: true })
    const headers = { 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA', 'keep-alive': 'timeout=5', te: 'gzip', 'x-kept': '1' }
    const response = await transport.roundTrip(new Request(`${server.origin}/`, { headers }))
    expect(await response.text()).toBe('ok')
    expect(seen[0]).toMatchObject({ 'x-kept': '1' })
    for (const name of ['http2-settings', 'keep-alive', 'te']) expect(seen[0]).not.toHaveProperty(name)
  })

  it('reports interim (1xx) heads to got1xxResponse and delivers the final response on the same stream', async () => {
    const { server: early, transport } = await setUp(
      (_req, res) => {
        res.stream.additionalHeaders({ ':status': 103, link: '</a.js>; rel=preload' })
        res.end('final')
      },
      { h2c: true },
    )
    const seen: Array<{ status: number; link: string | null }> = []
    const request = withContext(new Request(early.origin), { trace: { got1xxResponse: (info) => seen.push({ status: info.status, link: info.headers.get('link') }) } })
    const response = await transport.roundTrip(request)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('final')
    expect(seen).toEqual([{ status: 103, link: '</a.js>; rel=preload' }])
  })

  it('rejects a URL whose scheme no listed protocol serves, and a bad protocols option', async () => {
    const error = await rejection(f.use(new Transport({ protocols: ['h2c'] })).roundTrip(new Request('https://127.0.0.1:1/')))
    expect(error.code).toBe('RT_INVALID_REQUEST')
    expect(error.message).toMatch(/protocols/)
    for (const protocols of [[], ['http3'], ['http1', 'http1'], 'http2']) {
      expect(() => new Transport({ protocols: protocols as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    }
    expect(() => new Transport({ http2: { pingInterval: -1 } })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION', message: expect.stringMatching(/http2\.pingInterval/) }))
    expect(() => new Transport({ http2: { pingIntervl: 1 } as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    for (const [http2, message] of [
      [{ initialWindowSize: 0 }, 'invalid Transport option http2.initialWindowSize: expected an integer from 1 to 2147483647 (bytes), got 0'],
      [{ initialWindowSize: 2 ** 31 }, 'invalid Transport option http2.initialWindowSize: expected an integer from 1 to 2147483647 (bytes), got 2147483648'],
      [{ connectionWindowSize: 65_534 }, 'invalid Transport option http2.connectionWindowSize: expected an integer from 65535 to 2147483647 (bytes), got 65534'],
      [{ connectionWindowSize: 1.5e6 + 0.5 }, 'invalid Transport option http2.connectionWindowSize: expected an integer from 65535 to 2147483647 (bytes), got 1500000.5'],
    ] as const) {
      expect(() => new Transport({ http2 })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION', message }))
    }
  })
})
