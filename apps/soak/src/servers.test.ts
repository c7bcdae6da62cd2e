import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { RequestReader, startClosingServer, type ClosingServer } from './servers.js'

describe('RequestReader', () => {
  it('cuts pipelined requests framed by content-length and by chunks, across reads', () => {
    const reader = new RequestReader()
    const wire = Buffer.from(
      'POST /a HTTP/1.1\r\nx-soak-id: 1\r\ncontent-length: 5\r\n\r\nhello' +
        'GET /b HTTP/1.1\r\nhost: x\r\n\r\n' +
        'PUT /c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    )
    const first = reader.push(wire.subarray(0, 40))
    expect(first).toEqual([])
    expect(reader.pending).toBe(40)
    expect(reader.pendingHeader('x-soak-id')).toBe('1')
    const rest = reader.push(wire.subarray(40))
    expect(rest.map((r) => [r.method, r.path, r.body.toString()])).toEqual([
      ['POST', '/a', 'hello'],
      ['GET', '/b', ''],
      ['PUT', '/c', '3\r\nabc\r\n0\r\n\r\n'],
    ])
    expect(rest.reduce((n, r) => n + r.bytes, 0)).toBe(wire.length)
    expect(reader.pending).toBe(0)
  })
})

describe('startClosingServer', () => {
  let server: ClosingServer | undefined
  let socket: Socket | undefined
  afterEach(async () => {
    socket?.destroy()
    await server?.close()
  })

  it('closes its side after the response and records a request that arrives after, unanswered', async () => {
    server = await startClosingServer(() => 0)
    // Half-open, as a client that has not noticed the FIN yet.
    socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true })
    await once(socket, 'connect')
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.write('GET / HTTP/1.1\r\nx-soak-id: 7\r\n\r\n')
    await once(socket, 'end')
    expect(Buffer.concat(chunks).toString()).toBe('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n7')
    // Half-closed: the server still reads, records, and does not answer.
    const post = 'POST / HTTP/1.1\r\nx-soak-id: 8\r\ncontent-length: 2\r\n\r\nhi'
    // The server reads what arrives until the client closes: once its socket has closed, it has read the POST.
    const [accepted] = server.open
    socket.end(post)
    await once(accepted!, 'close')
    expect(server.received.get(8)).toBe(post.length)
    expect(server.raced).toBe(1)
  })
})
