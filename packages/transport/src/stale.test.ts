import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startDroppingServer, startRawServer, startServer, type TestServer } from '../test/server.js'
import { Transport } from './transport.js'

const f = useFixture()

/** A raw server that answers the first request on each connection, then closes it silently (no `connection: close`). */
async function oneShotServer(): Promise<TestServer> {
  return startRawServer((socket) => {
    let served = false
    socket.on('data', () => {
      if (served) return
      served = true
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok', () => {
        // Close just after the response, without saying so: the client's conn is stale.
        setImmediate(() => socket.destroy())
      })
    })
  })
}

describe('Transport: stale keep-alive connections', () => {
  it('retries an idempotent request that fails on a reused connection, on a new connection', async () => {
    const server = f.serve(await oneShotServer())
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    await server.closedCount(1)
    // The client may not have seen the close yet: either way the GET succeeds.
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    expect(server.connections).toBe(2)
  })

  it('does not retry a POST that fails on a reused connection, and says so clearly', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport({ raceDial: false }))
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    const error = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'once' })).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    expect((error as Error).message).toContain(`POST ${server.origin}/`)
    expect(server.connections).toBe(1)
  })

  it('retries a POST with an Idempotency-Key that fails on a reused connection', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    const response = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'again', headers: { 'idempotency-key': 'k1' } }))
    expect(await response.text()).toBe('ok')
    expect(server.connections).toBe(2)
  })

  it('retries a GET that fails on a reused connection', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    expect(server.connections).toBe(2)
  })

  it('with raceDial on (the default), retries a GET that meets its reused connection closed on a new connection', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport())
    const retries: string[] = []
    const onRetry = (message: unknown): void => void retries.push((message as { request: string }).request)
    subscribe('roundtrip:pool:stale-retry', onRetry)
    try {
      expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
      // Idle since an earlier turn: the next GET takes it at once, no dial raced; the server drops it unanswered.
      await new Promise((resolve) => setImmediate(resolve))
      expect(await (await transport.roundTrip(new Request(`${server.origin}/again`))).text()).toBe('ok')
    } finally {
      unsubscribe('roundtrip:pool:stale-retry', onRetry)
    }
    expect(retries).toEqual([`GET ${server.origin}/again`])
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, active: 0, idle: 1, dialing: 0 })
  })

  it('never retries on a fresh connection', async () => {
    const server = f.serve(await startRawServer((socket) => socket.once('data', () => socket.destroy())))
    const transport = f.use(new Transport())
    await expect(transport.roundTrip(new Request(server.origin))).rejects.toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    expect(server.connections).toBe(1)
  })

  it('retries a POST without a key that was never written because its connection died first', async () => {
    // The POST is dispatched onto the idle connection; undici holds it for a
    // turn to check the idle socket, and the connection dies in that turn.
    // Not one byte of the POST was written, so the server cannot have acted
    // on it: it goes out on a new connection, whatever its method (Go's
    // nothingWrittenError).
    const posts: string[] = []
    const server = f.serve(
      await startServer((req, res) => {
        if (req.method === 'POST') posts.push(req.url!)
        res.end('ok')
      }),
    )
    const sockets: Socket[] = []
    const transport = f.use(
      new Transport({ raceDial: false,
        dial: ({ hostname, port }) => {
          const socket = connect({ host: hostname, port })
          sockets.push(socket)
          return socket
        },
      }),
    )
    for (let i = 0; i < 5; i++) {
      expect(await (await transport.roundTrip(new Request(`${server.origin}/get${i}`))).text()).toBe('ok')
      const pending = transport.roundTrip(new Request(`${server.origin}/post${i}`, { method: 'POST' }))
      sockets.at(-1)!.destroy()
      expect(await (await pending).text()).toBe('ok')
    }
    expect(posts).toEqual(['/post0', '/post1', '/post2', '/post3', '/post4'])
    expect(server.connections).toBe(6)
  })

  it('retries a POST with an X-Idempotency-Key that fails on a reused connection', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    const response = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'again', headers: { 'x-idempotency-key': 'k1' } }))
    expect(await response.text()).toBe('ok')
    expect(server.connections).toBe(2)
  })
})
