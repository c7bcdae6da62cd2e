import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startRawServer, type TestServer } from '../test/server.js'
import { deferred, rejection } from '../test/util.js'
import type { GotInformationalInfo } from './trace.js'
import { Transport } from './transport.js'
import { withContext } from '@roundtrip/core'

const f = useFixture()

/** A raw server that answers every request on a connection with `reply` (bytes as written). */
async function replying(reply: string | Buffer): Promise<TestServer> {
  return f.serve(
    await startRawServer((socket) => {
      socket.on('data', () => socket.write(reply))
      socket.on('error', () => {})
    }),
  )
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'

describe('Transport: interim (1xx) responses', () => {
  for (const [status, head] of [
    [103, 'HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n'],
    [102, 'HTTP/1.1 102 Processing\r\n\r\n'],
    [100, 'HTTP/1.1 100 Continue\r\n\r\n'],
  ] as const) {
    it(`skips a ${status} before the final response and delivers the final one`, async () => {
      const server = await replying(head + OK)
      const transport = f.use(new Transport({ raceDial: false }))
      const seen: GotInformationalInfo[] = []
      const request = withContext(new Request(server.origin), { trace: { got1xxResponse: (info) => seen.push(info) } })
      const response = await transport.roundTrip(request)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('ok')
      expect(seen.map((s) => s.status)).toEqual([status])
      // The connection is still good for the next request.
      expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
      expect(server.connections).toBe(1)
    })
  }

  it('skips several interim responses in a row and reports each with its headers', async () => {
    const server = await replying('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.js>\r\n\r\n' + OK)
    const transport = f.use(new Transport())
    const seen: GotInformationalInfo[] = []
    const request = withContext(new Request(server.origin), { trace: { got1xxResponse: (info) => seen.push(info) } })
    expect(await (await transport.roundTrip(request)).text()).toBe('ok')
    expect(seen.map((s) => s.status)).toEqual([102, 103])
    expect(seen[1]!.headers.get('link')).toBe('</a.js>')
  })
})

describe('Transport: protocol violations are protocol errors, never retried as socket failures', () => {
  for (const [name, head] of [
    ['duplicate Content-Length with one value', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok'],
    ['duplicate Content-Length with two values', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok'],
    ['Content-Length list', 'HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nok'],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\ncontent-length: 2x\r\n\r\nok'],
  ] as const) {
    it(`${name}: RT_PROTOCOL_ERROR`, async () => {
      const server = await replying(head)
      const transport = f.use(new Transport())
      const error = await rejection(transport.roundTrip(new Request(server.origin)))
      expect(error.code).toBe('RT_PROTOCOL_ERROR')
      expect(error.message).toContain(`GET ${server.origin}/`)
      expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
    })
  }

  it('a corrupt gzip body: the body rejects with RT_DECODING_ERROR', async () => {
    const server = await replying('HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\nabcd')
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const error = await rejection(response.text())
    expect(error.code).toBe('RT_DECODING_ERROR')
    expect(error.message).toContain('gzip')
  })

  it('a gzip stream cut before its end, in a complete HTTP message: the body rejects with RT_DECODING_ERROR', async () => {
    const whole = gzipSync(Buffer.alloc(100_000, 'a'))
    const cut = whole.subarray(0, whole.length - 8) // no trailer (CRC and size)
    const server = await replying(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${cut.length}\r\n\r\n`), cut]))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const error = await rejection(response.arrayBuffer())
    expect(error.code).toBe('RT_DECODING_ERROR')
    expect(error.message).toMatch(/ended before/)
  })

  it('an empty body labelled gzip is an empty body', async () => {
    const server = await replying('HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 0\r\n\r\n')
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('')
  })

  it('a request body stream that errors: the rejection says the request body failed', async () => {
    const server = f.serve(await startRawServer((socket) => socket.resume()))
    const transport = f.use(new Transport())
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('disk read failed'))
      },
    })
    const error = await rejection(transport.roundTrip(new Request(server.origin, { method: 'PUT', body, duplex: 'half' } as RequestInit)))
    expect(error.code).toBe('RT_REQUEST_BODY_ERROR')
    expect(error.message).toContain('disk read failed')
    expect(error.message).toContain(`PUT ${server.origin}/`)
  })

  it('a request body stream that errors while it is being sent: RT_REQUEST_BODY_ERROR, the connection closed', async () => {
    // The stream errors once the server has the request's first bytes.
    const arrived = deferred()
    const server = f.serve(await startRawServer((socket) => socket.on('data', () => arrived.resolve())))
    const transport = f.use(new Transport())
    let sent = false
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true
          controller.enqueue(new TextEncoder().encode('first chunk'))
          return
        }
        await arrived.promise
        controller.error(new Error('upstream went away'))
      },
    })
    const error = await rejection(transport.roundTrip(new Request(server.origin, { method: 'PUT', body, duplex: 'half' } as RequestInit)))
    expect(error.code).toBe('RT_REQUEST_BODY_ERROR')
    expect(error.message).toContain('upstream went away')
    await server.closedCount(1)
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('a chain of more than 5 content codings: RT_DECODING_ERROR at the head, as undici refuses it', async () => {
    const server = await replying('HTTP/1.1 200 OK\r\ncontent-encoding: gzip, gzip, gzip, gzip, gzip, gzip\r\ncontent-length: 2\r\n\r\nok')
    const transport = f.use(new Transport())
    const error = await rejection(transport.roundTrip(new Request(server.origin)))
    expect(error.code).toBe('RT_DECODING_ERROR')
    expect(error.message).toContain('too many content-encodings (6, at most 5)')
  })
})
