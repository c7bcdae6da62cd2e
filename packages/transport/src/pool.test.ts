import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { busyCounts, deferred, rejection } from '../test/util.js'
import { Transport } from './index.js'

const servers: TestServer[] = []
let transport: Transport | undefined

afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
  transport = undefined
})

async function server(handler: Parameters<typeof startServer>[0] = (_req, res) => res.end('ok')): Promise<TestServer> {
  const s = await startServer(handler)
  servers.push(s)
  return s
}

async function get(t: Transport, url: string, init?: RequestInit): Promise<string> {
  const response = await t.roundTrip(new Request(url, init))
  return response.text()
}

/** A server that holds every response until `n` requests have arrived, so that `n` connections open. */
async function gatheringServer(n: number): Promise<TestServer> {
  const held: Array<() => void> = []
  let arrived = 0
  return server((_req, res) => {
    if (++arrived > n) return void res.end('ok')
    held.push(() => res.end('ok'))
    if (held.length === n) for (const release of held.splice(0)) release()
  })
}

describe('Transport pool', () => {
  it('closes a connection that stays idle for idleConnTimeout', async () => {
    const s = await server()
    transport = new Transport({ idleConnTimeout: 50 })
    expect(await get(transport, s.origin)).toBe('ok')
    expect(transport.stats().total.idle).toBe(1)
    await s.closedCount(1)
    expect(transport.stats().total.idle).toBe(0)
  })

  it('closes every idle connection on closeIdleConnections()', async () => {
    const s = await gatheringServer(3)
    transport = new Transport()
    await Promise.all([1, 2, 3].map(() => get(transport!, s.origin)))
    expect(transport.stats().total.idle).toBe(3)
    transport.closeIdleConnections()
    await s.closedCount(3)
    expect(transport.stats().total).toMatchObject({ idle: 0, active: 0 })
    // The transport still works afterwards.
    expect(await get(transport, s.origin)).toBe('ok')
  })

  it('closes every idle connection on close()', async () => {
    const s = await gatheringServer(3)
    transport = new Transport()
    await Promise.all([1, 2, 3].map(() => get(transport!, s.origin)))
    await transport.close()
    await s.closedCount(3)
    expect(s.open.size).toBe(0)
  })

  it('lets an in-flight response finish on close() and resolves after it', async () => {
    const rest = deferred()
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('hello')
      void rest.promise.then(() => res.end('world'))
    })
    transport = new Transport()
    const response = await transport.roundTrip(new Request(s.origin))
    let closed = false
    const closing = transport.close().then(() => (closed = true))
    const error = await rejection(transport.roundTrip(new Request(s.origin)))
    expect(error.code).toBe('RT_TRANSPORT_CLOSED')
    expect(closed).toBe(false)
    rest.resolve()
    expect(await response.text()).toBe('helloworld')
    await closing
    await s.closedCount(1)
  })

  it('keeps at most maxIdleConnsPerHost idle connections', async () => {
    const s = await gatheringServer(4)
    transport = new Transport({ maxIdleConnsPerHost: 2 })
    await Promise.all([1, 2, 3, 4].map(() => get(transport!, s.origin)))
    await s.closedCount(2)
    expect(transport.stats().total.idle).toBe(2)
    expect(s.open.size).toBe(2)
  })

  it('evicts the least recently used idle connection across hosts beyond maxIdleConns', async () => {
    const a = await server()
    const b = await server()
    const c = await server()
    transport = new Transport({ maxIdleConns: 2 })
    await get(transport, a.origin)
    await get(transport, b.origin)
    await get(transport, a.origin) // a is now the most recently used
    await get(transport, c.origin)
    await b.closedCount(1)
    const stats = transport.stats()
    expect(stats.total.idle).toBe(2)
    expect(stats.hosts[`http://127.0.0.1:${a.port}`]?.idle).toBe(1)
    expect(stats.hosts[`http://127.0.0.1:${b.port}`]?.idle).toBe(0)
    expect(stats.hosts[`http://127.0.0.1:${c.port}`]?.idle).toBe(1)
    expect(a.open.size + c.open.size).toBe(2)
  })

  it('does not reuse a connection whose Keep-Alive timeout hint leaves no margin', async () => {
    const s = await server((_req, res) => res.writeHead(200, { connection: 'keep-alive', 'keep-alive': 'timeout=1' }).end('ok'))
    transport = new Transport()
    await get(transport, s.origin)
    await s.closedCount(1)
    await get(transport, s.origin)
    expect(s.connections).toBe(2)
    expect(transport.stats().total.reusedRequests).toBe(0)
  })

  it('reuses a connection within its Keep-Alive timeout hint', async () => {
    const s = await server((_req, res) => res.writeHead(200, { connection: 'keep-alive', 'keep-alive': 'timeout=2' }).end('ok'))
    transport = new Transport()
    await get(transport, s.origin)
    await get(transport, s.origin)
    expect(s.connections).toBe(1)
    expect(transport.stats().total.reusedRequests).toBe(1)
  })

  it('rejects with RT_POOL_EXHAUSTED naming the holders after maxWaitTime', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'x')
    const s = await server((req, res) => (req.url === '/c' ? res.end('c') : res.end(big)))
    transport = new Transport({ maxConnsPerHost: 2, maxWaitTime: 200 })
    const a = await transport.roundTrip(new Request(`${s.origin}/a`))
    const b = await transport.roundTrip(new Request(`${s.origin}/b`))
    const error = await rejection(transport.roundTrip(new Request(`${s.origin}/c`)))
    expect(error.code).toBe('RT_POOL_EXHAUSTED')
    expect(error.message).toContain(`GET ${s.origin}/a`)
    expect(error.message).toContain(`GET ${s.origin}/b`)
    expect(error.message).toContain(`GET ${s.origin}/c`)
    const holders = transport.stats().total.holders.map((h) => `${h.method} ${h.url}`)
    expect(holders.sort()).toEqual([`GET ${s.origin}/a`, `GET ${s.origin}/b`])
    expect(busyCounts(transport)).toEqual({ active: 2, waiting: 0, dialing: 0 })
    await a.body?.cancel()
    await b.body?.cancel()
    await s.closedCount(2)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('gives a dial whose waiter left to the next waiter (late binding)', async () => {
    const s = await server()
    const gate = deferred()
    let dials = 0
    transport = new Transport({
      maxConnsPerHost: 1,
      dial: async () => {
        dials++
        await gate.promise
        return connect(s.port, '127.0.0.1')
      },
    })
    const controller = new AbortController()
    const first = transport.roundTrip(new Request(s.origin, { signal: controller.signal }))
    const second = get(transport, `${s.origin}/second`)
    expect(transport.stats().total).toMatchObject({ dialing: 1, waiting: 2 })
    controller.abort(new Error('gave up'))
    expect((await rejection(first)).message).toBe('gave up')
    gate.resolve()
    expect(await second).toBe('ok')
    expect(dials).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 1, idle: 1 })
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('puts a dial whose waiter left in the idle pool when nobody waits', async () => {
    const s = await server()
    const gate = deferred()
    transport = new Transport({
      dial: async () => {
        await gate.promise
        return connect(s.port, '127.0.0.1')
      },
    })
    const controller = new AbortController()
    const first = transport.roundTrip(new Request(s.origin, { signal: controller.signal }))
    controller.abort(new Error('gave up'))
    await rejection(first)
    gate.resolve()
    const idle = deferred()
    const onIdle = (): void => idle.resolve()
    subscribe('roundtrip:conn:idle', onIdle)
    await idle.promise
    unsubscribe('roundtrip:conn:idle', onIdle)
    // The next request takes the dialed conn from the idle pool instead of dialing.
    expect(await get(transport, s.origin)).toBe('ok')
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 1 })
    expect(s.connections).toBe(1)
  })

  it('frees the slot of a failed dial for the next waiter', async () => {
    const s = await server()
    const gate = deferred()
    let dials = 0
    transport = new Transport({
      maxConnsPerHost: 1,
      dial: async () => {
        if (++dials === 1) {
          await gate.promise
          throw new Error('first dial fails')
        }
        return connect(s.port, '127.0.0.1')
      },
    })
    const first = transport.roundTrip(new Request(`${s.origin}/first`))
    const second = get(transport, `${s.origin}/second`)
    gate.resolve()
    const error = await rejection(first)
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain('first dial fails')
    expect(await second).toBe('ok')
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 1 })
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
