import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startRawServer } from '../test/server.js'
import { deferred } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

describe('Transport: unsolicited bytes', () => {
  it('closes a connection that receives bytes while idle and never reuses it', async () => {
    const firstRead = deferred()
    const extraSent = deferred()
    let first = true
    const server = f.serve(
      await startRawServer((socket) => {
        socket.on('error', () => {})
        socket.on('data', (data) => {
          const path = data.toString('latin1').split(' ')[1]!
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`)
          if (!first) return
          first = false
          // A second, unasked-for response after the first one, once the client has read it and the conn is idle.
          void firstRead.promise.then(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nEXTRA', () => extraSent.resolve()))
        })
      }),
    )
    const transport = f.use(new Transport({ raceDial: false }))
    expect(await (await transport.roundTrip(new Request(`${server.origin}/one`))).text()).toBe('/one')
    firstRead.resolve()
    await extraSent.promise
    for (const path of ['/two', '/three', '/four']) {
      expect(await (await transport.roundTrip(new Request(server.origin + path))).text()).toBe(path)
    }
    expect(server.connections).toBe(2)
  })

  it('a close that arrives with the response: the next request goes out on a new connection', async () => {
    const server = f.serve(
      await startRawServer((socket) => {
        socket.on('error', () => {})
        socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok'))
      }),
    )
    const transport = f.use(new Transport())
    for (let i = 0; i < 20; i++) {
      expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
      // A POST without a key is never retried once written: it must not be written on the closing conn.
      expect(await (await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'x' }))).text()).toBe('ok')
    }
    expect(server.connections).toBe(40)
  })
})
