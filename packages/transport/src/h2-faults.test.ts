import { constants, type ServerHttp2Stream } from 'node:http2'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startFreezableRelay, startH2Server, type H2Handler } from '../test/h2.js'
import { certificate } from '../test/tls.js'
import { deferred, rejection } from '../test/util.js'
import { channels } from './trace.js'
import { Transport } from './transport.js'

const f = useFixture()

let pem: { key: string; cert: string }
beforeAll(async () => {
  pem = await certificate()
})

/** Answers a head announcing 100 bytes and sends 7 of them: a body under way until the connection goes. */
const partialBody: H2Handler = (_req, res) => {
  res.setHeader('content-length', '100')
  res.write('partial')
}

describe('HTTP/2 faults', () => {
  it('replays the streams above GOAWAY’s last stream id on a new connection, whatever their method; streams under it finish', async () => {
    const answered = new Map<string, number>()
    let held: Array<{ stream: ServerHttp2Stream; id: string }> = []
    let kept: typeof held = []
    let first = true
    const answer = (stream: ServerHttp2Stream, id: string): void => {
      answered.set(id, (answered.get(id) ?? 0) + 1)
      stream.respond({ ':status': 200 })
      stream.end(`done ${id}`)
    }
    const server = f.serve(
      await startH2Server((req, res) => {
        const id = req.headers['x-id'] as string
        if (!first) {
          answer(res.stream, id)
          // The 30 refused streams were sent again on a new connection while the kept ones were still in flight: now those finish.
          if (answered.size === 30) for (const h of kept) answer(h.stream, h.id)
          return
        }
        held.push({ stream: res.stream, id })
        if (held.length < 40) return
        // 40 in flight on the first conn: keep the 10 oldest streams, refuse the rest with GOAWAY.
        first = false
        const ids = held.map((h) => h.stream.id!).sort((a, b) => a - b)
        const last = ids[9]!
        res.stream.session!.goaway(constants.NGHTTP2_NO_ERROR, last)
        kept = held.filter((h) => h.stream.id! <= last)
        held = []
      }, { pem }),
    )
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const responses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const init: RequestInit = i % 2 === 0 ? { headers: { 'x-id': String(i) } } : { method: 'POST', body: `body ${i}`, headers: { 'x-id': String(i) } }
        return (await transport.roundTrip(new Request(server.origin, init))).text()
      }),
    )
    expect(responses).toEqual(Array.from({ length: 40 }, (_, i) => `done ${i}`))
    expect(server.sessions()).toBe(2)
    // Every request was acted on exactly once.
    expect([...answered.values()].every((n) => n === 1)).toBe(true)
    expect(answered.size).toBe(40)
  })

  it('replays a stream reset with REFUSED_STREAM, a POST included', async () => {
    let attempts = 0
    const server = f.serve(
      await startH2Server((req, res) => {
        if (++attempts === 1) return res.stream.close(constants.NGHTTP2_REFUSED_STREAM)
        req.resume()
        req.on('end', () => res.end(`attempt ${attempts}`))
      }, { pem }),
    )
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const response = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'once' }))
    expect(await response.text()).toBe('attempt 2')
  })

  it('fails a body reset mid-way with RT_SOCKET_CLOSED naming the code, and keeps the connection for other streams', async () => {
    const { promise: readSome, resolve: gotSome } = deferred()
    const server = f.serve(
      await startH2Server((req, res) => {
        if (req.url !== '/reset') return res.end('fine')
        res.write(Buffer.alloc(1000, 1))
        void readSome.then(() => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR))
      }, { pem }),
    )
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const response = await transport.roundTrip(new Request(`${server.origin}/reset`))
    const reader = response.body!.getReader()
    expect((await reader.read()).value!.byteLength).toBeGreaterThan(0)
    // The server resets the stream once the client has read the first bytes.
    gotSome()
    const error = await rejection(reader.read())
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toMatch(/reset by the server with INTERNAL_ERROR \(code 2\).* while reading the response body/)
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('fine')
    expect(server.sessions()).toBe(1)
  })

  it('fails only the streams of a connection that dies, with a coded error; the next request dials again', async () => {
    const server = f.serve(
      await startH2Server(partialBody, { pem }),
    )
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const responses = await Promise.all([1, 2, 3].map(() => transport.roundTrip(new Request(server.origin))))
    // Every head has arrived: the connection dies with three bodies under way.
    server.dropConnections()
    const errors = await Promise.all(responses.map((r) => rejection(r.text())))
    expect(errors.map((e) => e.code)).toEqual(['RT_SOCKET_CLOSED', 'RT_SOCKET_CLOSED', 'RT_SOCKET_CLOSED'])
    // A clean close or a reset, as the kernel tells it.
    expect(errors[0]!.message).toMatch(/HTTP\/2 connection closed|ECONNRESET/)
    expect(transport.stats().total).toMatchObject({ active: 0, streams: 0, http2: [] })
    const again = await transport.roundTrip(new Request(server.origin))
    expect(again.status).toBe(200)
    await again.body!.cancel()
    expect(server.sessions()).toBe(2)
  })

  it('leaves no timer behind for a connection destroyed with streams on it', async () => {
    const server = f.serve(
      await startH2Server(partialBody),
    )
    const clock = new ManualClock()
    const transport = f.use(new Transport({ protocols: ['h2c'], clock }))
    const responses = await Promise.all([1, 2].map(() => transport.roundTrip(new Request(server.origin))))
    transport.destroy()
    for (const response of responses) expect((await rejection(response.text())).code).toBe('RT_SOCKET_CLOSED')
    expect(transport.stats().total).toMatchObject({ streams: 0, http2: [] })
    // The conn closed first, its streams after: the last one out arms no idle or PING timer on the dead conn.
    expect(clock.pending).toBe(0)
  })

  it('rejects an aborted stream with the signal’s reason and leaves the other streams of the connection alive', async () => {
    // The aborted stream's arrival at the server, and its reset code once it closed there.
    let arrived!: () => void
    const xArrived = new Promise<void>((resolve) => (arrived = resolve))
    let closedWith!: (code: number) => void
    const xClosed = new Promise<number>((resolve) => (closedWith = resolve))
    const server = f.serve(
      await startH2Server((req, res) => {
        if (req.url === '/x') {
          res.stream.on('close', () => closedWith(res.stream.rstCode))
          arrived()
          return
        }
        // The other streams answer once /x was reset: they are in flight meanwhile.
        void xClosed.then(() => res.end(`ok ${req.url}`))
      }, { pem }),
    )
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const controller = new AbortController()
    const reason = new Error('stop this one')
    const others = [1, 2, 3, 4].map(async (i) => (await transport.roundTrip(new Request(`${server.origin}/${i}`))).text())
    const aborted = transport.roundTrip(new Request(`${server.origin}/x`, { signal: controller.signal }))
    await xArrived
    controller.abort(reason)
    expect(await rejection(aborted)).toBe(reason)
    expect(await xClosed).toBe(constants.NGHTTP2_CANCEL)
    expect(await Promise.all(others)).toEqual(['ok /1', 'ok /2', 'ok /3', 'ok /4'])
    expect(server.sessions()).toBe(1)
    expect(transport.stats().total).toMatchObject({ streams: 0, idle: 1 })
  })

  it('closes an idle connection whose PING goes unanswered, before a request is sent on it', async () => {
    const server = f.serve(await startH2Server((req, res) => res.end('pong')))
    const relay = f.serve(await startFreezableRelay(Number(new URL(server.origin).port)))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ protocols: ['h2c'], clock, idleConnTimeout: 0, http2: { pingInterval: 1_000, pingTimeout: 500 } }))
    expect(await (await transport.roundTrip(new Request(relay.origin))).text()).toBe('pong')
    // An answered PING keeps the conn: the next response comes after its answer on the same connection.
    const pinged = new Promise((resolve) => [...server.live][0]!.once('ping', resolve))
    clock.advance(1_000)
    await pinged
    expect(await (await transport.roundTrip(new Request(relay.origin))).text()).toBe('pong')
    clock.advance(500)
    expect(transport.stats().total).toMatchObject({ idle: 1, dials: 1 })
    const closed = new Promise<string>((resolve) => {
      const listener = (message: unknown): void => {
        channels.closed.unsubscribe(listener)
        resolve((message as { reason: string }).reason)
      }
      channels.closed.subscribe(listener)
    })
    relay.freeze()
    clock.advance(1_000) // the PING goes out, and nothing comes back
    clock.advance(500)
    expect(await closed).toBe('PING not answered within 500 ms')
    expect(transport.stats().total).toMatchObject({ idle: 0, dials: 1, http2: [] })
  })

  it('times out the head of one stream with RT_HEADERS_TIMEOUT on the transport clock, leaving the other streams alone', async () => {
    const server = f.serve(await startH2Server((req, res) => (req.url === '/hang' ? undefined : res.end('ok')), { pem }))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ tls: { ca: pem.cert }, clock, responseHeaderTimeout: 5_000 }))
    const hanging = rejection(transport.roundTrip(new Request(`${server.origin}/hang`)))
    expect(await (await transport.roundTrip(new Request(`${server.origin}/ok`))).text()).toBe('ok')
    clock.advance(5_000)
    const error = await hanging
    expect(error.code).toBe('RT_HEADERS_TIMEOUT')
    expect(error.message).toBe(`no response head within 5000 ms (GET ${server.origin}/hang)`)
    expect((error.cause as { code?: unknown }).code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(await (await transport.roundTrip(new Request(`${server.origin}/ok`))).text()).toBe('ok')
    expect(server.sessions()).toBe(1)
  })

  it('times out a body that stops arriving with RT_BODY_TIMEOUT on the transport clock, leaving the connection to the other streams', async () => {
    const server = f.serve(
      await startH2Server((req, res) => {
        if (req.url !== '/stall') return res.end('ok')
        res.writeHead(200)
        res.write('part')
      }),
    )
    const clock = new ManualClock()
    const transport = f.use(new Transport({ protocols: ['h2c'], clock, bodyTimeout: 2_000 }))
    const response = await transport.roundTrip(new Request(`${server.origin}/stall`))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('part')
    const stalled = rejection(reader.read())
    // Checked about once a second: the limit, plus at most one sweep.
    clock.advance(3_000)
    const error = await stalled
    expect(error.code).toBe('RT_BODY_TIMEOUT')
    expect(error.message).toBe(`no response body data for 2000 ms (GET ${server.origin}/stall)`)
    expect((error.cause as { code?: unknown }).code).toBe('UND_ERR_BODY_TIMEOUT')
    expect(await (await transport.roundTrip(new Request(`${server.origin}/ok`))).text()).toBe('ok')
    expect(server.sessions()).toBe(1)
  })

  it('keeps one timer per connection for the header and body limits, however many streams are in flight', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const arrivals: Array<() => void> = []
    let arrived = 0
    const server = f.serve(
      await startH2Server((req, res) => {
        arrived++
        for (const wake of arrivals.splice(0)) wake()
        void released.then(() => res.end(`ok ${req.url}`))
      }),
    )
    const untilArrived = async (n: number): Promise<void> => {
      while (arrived < n) await new Promise<void>((resolve) => arrivals.push(resolve))
    }
    const clock = new ManualClock()
    const transport = f.use(new Transport({ protocols: ['h2c'], clock }))
    const first = transport.roundTrip(new Request(`${server.origin}/0`))
    await untilArrived(1)
    const timersWithOne = clock.pending
    const more = Array.from({ length: 19 }, (_, i) => transport.roundTrip(new Request(`${server.origin}/${i + 1}`)))
    await untilArrived(20)
    expect(transport.stats().total.streams).toBe(20)
    expect(clock.pending).toBe(timersWithOne)
    release()
    const texts = await Promise.all([first, ...more].map(async (r) => (await r).text()))
    expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => `ok /${i}`))
  })
})
