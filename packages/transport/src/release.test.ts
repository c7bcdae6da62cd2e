import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { Transport } from './transport.js'

const f = useFixture()

const BIG = Buffer.alloc(8 * 1024 * 1024, 1)

async function gc(until: () => boolean): Promise<void> {
  const collect = (globalThis as { gc?: () => void }).gc!
  for (let i = 0; i < 100 && !until(); i++) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('Transport: releasing connections', () => {
  it('puts the conn back in the pool once a small body has arrived, even if it is never read', async () => {
    const server = f.serve(await startServer((req, res) => res.end('small')))
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const unread = await transport.roundTrip(new Request(server.origin))
    // The second request gets the same connection although the first body is unread.
    const second = await transport.roundTrip(new Request(server.origin))
    expect(await second.text()).toBe('small')
    expect(await unread.text()).toBe('small')
    expect(server.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 1, reusedRequests: 1 })
  })

  it('keeps the conn busy while a large body is unread, and lists the holder in stats()', async () => {
    const server = f.serve(await startServer((req, res) => res.end(BIG)))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(`${server.origin}/big?token=x`))
    const stats = transport.stats().total
    expect(stats.active).toBe(1)
    expect(stats.holders).toEqual([{ method: 'GET', url: `${server.origin}/big?token=x`, ageMs: expect.any(Number) }])
    await response.arrayBuffer()
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 1 })
  })

  it('closes the conn when the body is cancelled, and the server sees the socket close', async () => {
    const server = f.serve(await startServer((req, res) => res.end(BIG)))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    await server.closedCount(1)
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('releases the conn of a response garbage-collected with its body unread', async () => {
    const server = f.serve(await startServer((req, res) => res.end(BIG)))
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    await (async () => {
      await transport.roundTrip(new Request(server.origin)) // dropped unread
    })()
    let closed = false
    void server.closedCount(1).then(() => (closed = true))
    await gc(() => closed)
    expect(closed).toBe(true)
    expect(transport.stats().total.active).toBe(0)
    // The slot is free again.
    const next = await transport.roundTrip(new Request(server.origin))
    expect((await next.arrayBuffer()).byteLength).toBe(BIG.length)
  })

  it('does not reuse a conn after the server sent connection: close', async () => {
    const server = f.serve(await startServer((req, res) => {
      res.setHeader('connection', 'close')
      res.end('bye')
    }))
    const transport = f.use(new Transport())
    for (let i = 0; i < 3; i++) expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('bye')
    expect(server.connections).toBe(3)
  })

  it('closes conns beyond maxIdleConnsPerHost instead of keeping them idle', async () => {
    const server = f.serve(await startServer((req, res) => setImmediate(() => res.end('x'))))
    const transport = f.use(new Transport({ maxIdleConnsPerHost: 1 }))
    const responses = await Promise.all([1, 2, 3].map(() => transport.roundTrip(new Request(server.origin))))
    await Promise.all(responses.map((r) => r.text()))
    await server.closedCount(2)
    expect(transport.stats().total).toMatchObject({ idle: 1, active: 0 })
  })
})
