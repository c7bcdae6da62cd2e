import { isRoundTripError } from '@roundtrip/core'
import { afterEach, describe, expect, it } from 'vitest'
import { startRawServer, startServer, type TestServer } from '../test/server.js'
import { Transport } from './transport.js'

let servers: TestServer[] = []
let transport: Transport | undefined
afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  for (const s of servers) await s.close()
  servers = []
  transport = undefined
})

async function codeOf(promise: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  try {
    await promise
  } catch (error) {
    return { code: isRoundTripError(error) ? error.code : undefined, message: (error as Error).message }
  }
  throw new Error('expected a rejection')
}

describe('Transport: coded errors', () => {
  it('connect refused: RT_CONNECT_REFUSED, naming the request', async () => {
    const gone = await startServer(() => {})
    await gone.close()
    transport = new Transport()
    const { code, message } = await codeOf(transport.roundTrip(new Request(`http://127.0.0.1:${gone.port}/x?q=1`)))
    expect(code).toBe('RT_CONNECT_REFUSED')
    expect(message).toContain(`GET http://127.0.0.1:${gone.port}/x?q=1`)
    expect(transport.stats().total).toMatchObject({ active: 0, dialing: 0, waiting: 0 })
  })

  it('connect timeout during a TLS handshake that never completes: RT_CONNECT_TIMEOUT', async () => {
    const silent = await startRawServer((socket) => socket.resume()) // accepts TCP, reads, never speaks TLS
    servers.push(silent)
    transport = new Transport({ connectTimeout: 100 })
    const { code, message } = await codeOf(transport.roundTrip(new Request(`https://127.0.0.1:${silent.port}/`)))
    expect(code).toBe('RT_CONNECT_TIMEOUT')
    expect(message).toContain('100 ms')
    await silent.closedCount(1)
  })

  it('slow response head: RT_HEADERS_TIMEOUT', async () => {
    const slow = await startServer(() => {}) // never answers
    servers.push(slow)
    transport = new Transport({ responseHeaderTimeout: 100 })
    expect((await codeOf(transport.roundTrip(new Request(slow.origin)))).code).toBe('RT_HEADERS_TIMEOUT')
  })

  it('a body that stops arriving: the read rejects with RT_BODY_TIMEOUT', async () => {
    const stalls = await startServer((req, res) => res.write('some'))
    servers.push(stalls)
    transport = new Transport({ bodyTimeout: 100 })
    const response = await transport.roundTrip(new Request(stalls.origin))
    expect((await codeOf(response.text())).code).toBe('RT_BODY_TIMEOUT')
  })

  it('a limit under a second is kept precisely: a head 600 ms late fails a 100 ms responseHeaderTimeout', async () => {
    // (undici's own timers have about 1 s of resolution and would let this response through.)
    const late = await startServer((req, res) => setTimeout(() => res.end('late'), 600))
    servers.push(late)
    transport = new Transport({ responseHeaderTimeout: 100 })
    expect((await codeOf(transport.roundTrip(new Request(late.origin)))).code).toBe('RT_HEADERS_TIMEOUT')
  })

  it('a body gap of 600 ms fails a 100 ms bodyTimeout', async () => {
    const gap = await startServer((req, res) => {
      res.write('first')
      setTimeout(() => res.end('second'), 600)
    })
    servers.push(gap)
    transport = new Transport({ bodyTimeout: 100 })
    const response = await transport.roundTrip(new Request(gap.origin))
    expect((await codeOf(response.text())).code).toBe('RT_BODY_TIMEOUT')
  })

  it('an oversized response head: RT_HEADERS_TOO_LARGE', async () => {
    const big = await startServer((req, res) => {
      res.setHeader('x-big', 'y'.repeat(4096))
      res.end('x')
    })
    servers.push(big)
    transport = new Transport({ maxResponseHeaderBytes: 1024 })
    expect((await codeOf(transport.roundTrip(new Request(big.origin)))).code).toBe('RT_HEADERS_TOO_LARGE')
  })

  it('a 600 status: RT_INVALID_STATUS, and the conn is closed', async () => {
    const odd = await startRawServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 600 Beyond\r\ncontent-length: 0\r\n\r\n'))
    })
    servers.push(odd)
    transport = new Transport()
    const { code, message } = await codeOf(transport.roundTrip(new Request(odd.origin)))
    expect(code).toBe('RT_INVALID_STATUS')
    expect(message).toContain('600')
    await odd.closedCount(1)
  })

  it('a reset in the middle of the body: the read rejects with RT_SOCKET_CLOSED', async () => {
    const rst = await startRawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n' + 'x'.repeat(1000), () => {
          setImmediate(() => socket.resetAndDestroy())
        })
      })
    })
    servers.push(rst)
    transport = new Transport()
    const response = await transport.roundTrip(new Request(rst.origin))
    expect((await codeOf(response.arrayBuffer())).code).toBe('RT_SOCKET_CLOSED')
  })

  it('a body shorter than its content-length: the read rejects, never a silent truncation', async () => {
    const short = await startRawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nonly twenty bytes...'))
    })
    servers.push(short)
    transport = new Transport()
    const response = await transport.roundTrip(new Request(short.origin))
    expect((await codeOf(response.text())).code).toBe('RT_SOCKET_CLOSED')
  })

  it('a closed transport rejects new requests with RT_TRANSPORT_CLOSED', async () => {
    const ok = await startServer((req, res) => res.end('x'))
    servers.push(ok)
    transport = new Transport()
    await transport.close()
    expect((await codeOf(transport.roundTrip(new Request(ok.origin)))).code).toBe('RT_TRANSPORT_CLOSED')
  })

  it('an unsupported protocol: RT_INVALID_REQUEST; an invalid option: RT_INVALID_OPTION', async () => {
    transport = new Transport()
    expect((await codeOf(transport.roundTrip(new Request('ftp://127.0.0.1/file')))).code).toBe('RT_INVALID_REQUEST')
    expect(() => new Transport({ maxConnsPerHost: -1 })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    expect(() => new Transport({ idleConnTimeout: 1.5 })).toThrow(/idleConnTimeout/)
    expect(() => new Transport({ dial: 'socket' as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
  })
})

