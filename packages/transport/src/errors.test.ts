import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startRawServer, startServer, type TestServer } from '../test/server.js'
import { busyCounts, closedPort, rejection } from '../test/util.js'
import { Transport } from './index.js'

let server: TestServer | undefined
let transport: Transport | undefined

afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  await server?.close()
  server = undefined
  transport = undefined
})

/** A Request whose url carries credentials, which `new Request` itself refuses to hold. */
function credentialRequest(url: string): Request {
  const request = new Request(url.replace(/\/\/[^@/]*@/, '//'))
  Object.defineProperty(request, 'url', { value: url })
  return request
}

/** rawResponder starts a raw server that answers every request head with `reply(socket)`. */
function rawResponder(reply: (socket: Socket) => void): Promise<TestServer> {
  return startRawServer((socket) => {
    let buffered = ''
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      if (buffered.includes('\r\n\r\n')) {
        buffered = ''
        reply(socket)
      }
    })
  })
}

describe('Transport errors', () => {
  it('rejects with RT_CONNECT_REFUSED when nothing listens on the port', async () => {
    const port = await closedPort()
    transport = new Transport()
    const url = `http://127.0.0.1:${port}/refused`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_CONNECT_REFUSED')
    expect(error.message).toContain(`GET ${url}`)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('leaves credentials out of the error message', async () => {
    const port = await closedPort()
    transport = new Transport()
    const error = await rejection(transport.roundTrip(credentialRequest(`http://user:secret@127.0.0.1:${port}/x`)))
    expect(error.code).toBe('RT_CONNECT_REFUSED')
    expect(error.message).toContain(`127.0.0.1:${port}/x`)
    expect(error.message).not.toContain('secret')
    expect(error.message).not.toContain('user')
  })

  it('rejects with RT_CONNECT_TIMEOUT when the TLS handshake never completes', async () => {
    // The server accepts TCP but never answers the client hello.
    server = await startRawServer((socket) => socket.on('error', () => {}).resume())
    transport = new Transport({ connectTimeout: 100 })
    const url = `https://127.0.0.1:${server.port}/slow`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_CONNECT_TIMEOUT')
    expect(error.message).toContain(`GET ${url}`)
    expect(error.message).toContain('100 ms')
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_HEADERS_TIMEOUT when the response head is slow', async () => {
    server = await startServer(() => {}) // never answers
    transport = new Transport({ responseHeaderTimeout: 100 })
    const url = `${server.origin}/slow-head`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_HEADERS_TIMEOUT')
    expect(error.message).toContain(`GET ${url}`)
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('errors the body read with RT_BODY_TIMEOUT when the body stalls', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('first bytes') // and nothing more
    })
    transport = new Transport({ bodyTimeout: 100 })
    const url = `${server.origin}/slow-body`
    const response = await transport.roundTrip(new Request(url))
    expect(response.status).toBe(200)
    const error = await rejection(response.text())
    expect(error.code).toBe('RT_BODY_TIMEOUT')
    expect(error.message).toContain(`GET ${url}`)
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_HEADERS_TOO_LARGE when the response head exceeds maxResponseHeaderBytes', async () => {
    server = await rawResponder((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(4096)}\r\ncontent-length: 0\r\n\r\n`)
    })
    transport = new Transport({ maxResponseHeaderBytes: 1024 })
    const url = `${server.origin}/big-head`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_HEADERS_TOO_LARGE')
    expect(error.message).toContain(`GET ${url}`)
    await server.closedCount(1)
  })

  it('rejects with RT_INVALID_STATUS on a status a Response cannot hold', async () => {
    server = await rawResponder((socket) => socket.write('HTTP/1.1 600 Weird\r\ncontent-length: 0\r\n\r\n'))
    transport = new Transport()
    const url = `${server.origin}/600`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_INVALID_STATUS')
    expect(error.message).toContain(`GET ${url}`)
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('errors the body read with RT_SOCKET_CLOSED when the server resets mid-body', async () => {
    server = await rawResponder((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n' + 'x'.repeat(1000), () => {
        socket.resetAndDestroy()
      })
    })
    transport = new Transport()
    const url = `${server.origin}/reset`
    const response = await transport.roundTrip(new Request(url))
    const error = await rejection(response.arrayBuffer())
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toContain(`GET ${url}`)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('errors the body read with RT_SOCKET_CLOSED when the body is shorter than content-length', async () => {
    server = await rawResponder((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b')
    })
    transport = new Transport()
    const url = `${server.origin}/truncated`
    const response = await transport.roundTrip(new Request(url))
    const error = await rejection(response.text())
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toContain(`GET ${url}`)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('errors the body read with RT_SOCKET_CLOSED when a chunked body ends without its last chunk', async () => {
    server = await rawResponder((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n')
    })
    transport = new Transport()
    const response = await transport.roundTrip(new Request(`${server.origin}/chunked`))
    const error = await rejection(response.text())
    expect(error.code).toBe('RT_SOCKET_CLOSED')
  })

  it('rejects with RT_TRANSPORT_CLOSED after close()', async () => {
    transport = new Transport()
    await transport.close()
    const error = await rejection(transport.roundTrip(new Request('http://127.0.0.1:1/closed')))
    expect(error.code).toBe('RT_TRANSPORT_CLOSED')
    expect(error.message).toContain('GET http://127.0.0.1:1/closed')
  })

  it('throws RT_INVALID_OPTION for invalid options', () => {
    const bad: unknown[] = [
      { maxConnsPerHost: -1 },
      { idleConnTimeout: 1.5 },
      { connectTimeout: '100' },
      { maxResponseHeaderBytes: 0 },
      { dial: 'socket' },
      { tls: 'yes' },
      'options',
    ]
    for (const options of bad) {
      expect(() => new Transport(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'RT_INVALID_OPTION' }),
      )
    }
  })

  it('rejects with RT_INVALID_REQUEST for an unsupported protocol', async () => {
    transport = new Transport()
    const error = await rejection(transport.roundTrip(new Request('ftp://127.0.0.1/file')))
    expect(error.code).toBe('RT_INVALID_REQUEST')
    expect(error.message).toContain('ftp:')
  })
})
