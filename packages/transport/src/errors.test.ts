import { once } from 'node:events'
import { isRoundTripError } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startRawServer, startServer } from '../test/server.js'
import { deferred } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

async function codeOf(promise: Promise<unknown>): Promise<{ code: string | undefined; message: string; causeCode: unknown }> {
  try {
    await promise
  } catch (error) {
    const causeCode = ((error as Error).cause as { code?: unknown } | undefined)?.code
    return { code: isRoundTripError(error) ? error.code : undefined, message: (error as Error).message, causeCode }
  }
  throw new Error('expected a rejection')
}

describe('Transport: coded errors', () => {
  it('connect refused: RT_CONNECT_REFUSED, naming the request', async () => {
    const gone = await startServer(() => {})
    await gone.close()
    const transport = f.use(new Transport())
    const { code, message } = await codeOf(transport.roundTrip(new Request(`http://127.0.0.1:${gone.port}/x?q=1`)))
    expect(code).toBe('RT_CONNECT_REFUSED')
    expect(message).toContain(`GET http://127.0.0.1:${gone.port}/x?q=1`)
    expect(transport.stats().total).toMatchObject({ active: 0, dialing: 0, waiting: 0 })
  })

  it('connect timeout during a TLS handshake that never completes: RT_CONNECT_TIMEOUT', async () => {
    const silent = f.serve(await startRawServer((socket) => socket.resume())) // accepts TCP, reads, never speaks TLS
    const clock = new ManualClock()
    const transport = f.use(new Transport({ connectTimeout: 100, clock }))
    const accepted = once(silent.server, 'connection')
    const pending = codeOf(transport.roundTrip(new Request(`https://127.0.0.1:${silent.port}/`)))
    await accepted
    clock.advance(100)
    const { code, message } = await pending
    expect(code).toBe('RT_CONNECT_TIMEOUT')
    expect(message).toContain('100 ms')
    await silent.closedCount(1)
  })

  // Limits under a second run on the transport's clock (undici's own timers
  // have about 1 s of resolution): the manual clock alone makes them fire.
  it('slow response head: RT_HEADERS_TIMEOUT once responseHeaderTimeout has passed, not before', async () => {
    const arrived = deferred()
    const slow = f.serve(await startServer(() => arrived.resolve())) // never answers
    const clock = new ManualClock()
    const transport = f.use(new Transport({ responseHeaderTimeout: 100, clock }))
    let settled = false
    const pending = codeOf(transport.roundTrip(new Request(slow.origin))).finally(() => (settled = true))
    await arrived.promise
    clock.advance(99)
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    clock.advance(1)
    const { code, message, causeCode } = await pending
    expect(code).toBe('RT_HEADERS_TIMEOUT')
    expect(message).toBe(`no response head within 100 ms (GET ${slow.origin}/)`)
    // Under undici's own error, as from a limit of 1 s or more (undici's timer) and as Node's fetch reports it.
    expect(causeCode).toBe('UND_ERR_HEADERS_TIMEOUT')
  })

  it('a body that stops arriving: the read rejects with RT_BODY_TIMEOUT', async () => {
    const stalls = f.serve(await startServer((req, res) => res.write('some')))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ bodyTimeout: 100, clock }))
    const response = await transport.roundTrip(new Request(stalls.origin))
    const read = codeOf(response.text())
    clock.advance(100)
    const { code, message, causeCode } = await read
    expect(code).toBe('RT_BODY_TIMEOUT')
    expect(message).toBe(`no response body data for 100 ms (GET ${stalls.origin}/)`)
    expect(causeCode).toBe('UND_ERR_BODY_TIMEOUT')
  })

  it('an oversized response head: RT_HEADERS_TOO_LARGE', async () => {
    const big = f.serve(await startServer((req, res) => {
      res.setHeader('x-big', 'y'.repeat(4096))
      res.end('x')
    }))
    const transport = f.use(new Transport({ maxResponseHeaderBytes: 1024 }))
    expect((await codeOf(transport.roundTrip(new Request(big.origin)))).code).toBe('RT_HEADERS_TOO_LARGE')
  })

  it('a 600 status: RT_INVALID_STATUS, and the conn is closed', async () => {
    const odd = f.serve(await startRawServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 600 Beyond\r\ncontent-length: 0\r\n\r\n'))
    }))
    const transport = f.use(new Transport())
    const { code, message } = await codeOf(transport.roundTrip(new Request(odd.origin)))
    expect(code).toBe('RT_INVALID_STATUS')
    expect(message).toContain('600')
    await odd.closedCount(1)
  })

  it('a reset in the middle of the body: the read rejects with RT_SOCKET_CLOSED', async () => {
    const rst = f.serve(await startRawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n' + 'x'.repeat(1000), () => {
          setImmediate(() => socket.resetAndDestroy())
        })
      })
    }))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(rst.origin))
    expect((await codeOf(response.arrayBuffer())).code).toBe('RT_SOCKET_CLOSED')
  })

  it('a body shorter than its content-length: the read rejects, never a silent truncation', async () => {
    const short = f.serve(await startRawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nonly twenty bytes...'))
    }))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(short.origin))
    expect((await codeOf(response.text())).code).toBe('RT_SOCKET_CLOSED')
  })

  it('a closed transport rejects new requests with RT_TRANSPORT_CLOSED', async () => {
    const ok = f.serve(await startServer((req, res) => res.end('x')))
    const transport = f.use(new Transport())
    await transport.close()
    expect((await codeOf(transport.roundTrip(new Request(ok.origin)))).code).toBe('RT_TRANSPORT_CLOSED')
  })

  it('an unsupported protocol: RT_INVALID_REQUEST; an invalid option: RT_INVALID_OPTION', async () => {
    const transport = f.use(new Transport())
    expect((await codeOf(transport.roundTrip(new Request('ftp://127.0.0.1/file')))).code).toBe('RT_INVALID_REQUEST')
    expect(() => new Transport({ maxConnsPerHost: -1 })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    expect(() => new Transport({ idleConnTimeout: 1.5 })).toThrow(/idleConnTimeout/)
    expect(() => new Transport({ dial: 'socket' as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
  })
})

