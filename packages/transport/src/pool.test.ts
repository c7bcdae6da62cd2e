import { isRoundTripError, withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startHoldingServer, startServer, type TestServer } from '../test/server.js'
import { ManualClock } from '../test/clock.js'
import { collectGarbage } from '../../../test/loopback.js'
import { deferred, get, rejection } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

async function server(handler: Parameters<typeof startServer>[0] = (req, res) => res.end('ok')): Promise<TestServer> {
  return f.serve(await startServer(handler))
}

/** connectionsForTwoGets sends two GETs in a row to a server whose answers say `keep-alive: timeout=<seconds>`, and returns how many connections it accepted. */
async function connectionsForTwoGets(seconds: number): Promise<number> {
  const s = await server((req, res) => {
    res.setHeader('keep-alive', `timeout=${seconds}`)
    res.end('hint')
  })
  const transport = f.use(new Transport())
  await get(transport, s.origin)
  await get(transport, s.origin)
  return s.connections
}

const BIG = Buffer.alloc(8 * 1024 * 1024, 2)

/** A clock whose time moves (`skip`) without firing its timers: a request finds an idle conn expired before its idle deadline ran. */
class LateTimerClock extends ManualClock {
  #skipped = 0
  override now(): number {
    return super.now() + this.#skipped
  }

  skip(ms: number): void {
    this.#skipped += ms
  }
}

describe('Transport: idle connections', () => {
  it('closes a connection idle for idleConnTimeout, on the transport’s clock', async () => {
    const s = await server()
    const clock = new ManualClock()
    // Below the 4 s that Node's server asks for (keep-alive: timeout=5).
    const transport = f.use(new Transport({ idleConnTimeout: 3_000, clock }))
    await get(transport, s.origin)
    clock.advance(2_999)
    expect(transport.stats().total.idle).toBe(1)
    clock.advance(1)
    expect(transport.stats().total).toMatchObject({ idle: 0, active: 0 })
    await s.closedCount(1)
  })

  it('does not close a connection taken from the pool just before its idle deadline while its request runs', async () => {
    const s = f.serve(await startHoldingServer())
    const clock = new ManualClock()
    const transport = f.use(new Transport({ raceDial: false, idleConnTimeout: 3_000, clock }))
    expect(await get(transport, `${s.origin}/first`)).toBe('/first')
    clock.advance(2_900)
    const held = transport.roundTrip(new Request(`${s.origin}/hold`))
    await s.holding
    clock.advance(200) // past the deadline the conn had while idle
    s.release()
    expect(await (await held).text()).toBe('/hold')
    expect(s.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ idle: 1, reusedRequests: 1 })
  })

  it('a request that finds its host’s only idle conn expired waits in the live pool: stats() and close() see its conn', async () => {
    const s = await server()
    const clock = new LateTimerClock()
    const transport = f.use(new Transport({ raceDial: false, idleConnTimeout: 3_000, clock }))
    await get(transport, s.origin)
    clock.skip(3_000)
    // idleConnFor closes the expired conn, which empties the pool: the request must not dial in the pool it leaves behind.
    const response = await transport.roundTrip(new Request(s.origin))
    expect(s.connections).toBe(2)
    expect(await response.text()).toBe('ok')
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 1, dials: 2 })
    // close() resolves once every conn it knows is closed: the new one among them.
    await transport.close()
    await s.closedCount(2)
    expect(s.open.size).toBe(0)
  })

  it('closeIdleConnections() and close() close every idle socket', async () => {
    const a = await server()
    const b = await server()
    const transport = f.use(new Transport())
    await Promise.all([get(transport, a.origin), get(transport, b.origin), get(transport, a.origin)])
    const idle = transport.stats().total.idle
    expect(idle).toBeGreaterThanOrEqual(2)
    transport.closeIdleConnections()
    await a.closedCount(a.connections)
    await b.closedCount(b.connections)
    await get(transport, a.origin)
    await transport.close()
    await a.closedCount(a.connections)
    expect(transport.stats().total).toMatchObject({ idle: 0, active: 0 })
  })

  it('close() lets an in-flight response finish, then resolves', async () => {
    // The server ends the response once close() was called.
    const closeCalled = deferred()
    const s = await server((req, res) => {
      res.write('first ')
      void closeCalled.promise.then(() => res.end('last'))
    })
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(s.origin))
    let closed = false
    const closing = transport.close().then(() => (closed = true))
    closeCalled.resolve()
    expect(await response.text()).toBe('first last')
    await closing
    expect(closed).toBe(true)
    await s.closedCount(1)
  })

  it('keeps at most maxIdleConns across hosts, closing the least recently used', async () => {
    const a = await server()
    const b = await server()
    const c = await server()
    const transport = f.use(new Transport({ maxIdleConns: 2 }))
    await get(transport, a.origin)
    await get(transport, b.origin)
    await get(transport, c.origin) // a's idle conn is the oldest: evicted
    await a.closedCount(1)
    expect(transport.stats().total.idle).toBe(2)
    expect(b.open.size + c.open.size).toBe(2)
  })

  it('does not reuse a connection past the server’s Keep-Alive timeout hint (minus 1 s)', async () => {
    // timeout=1 minus the margin leaves nothing: every request gets a new connection.
    expect(await connectionsForTwoGets(1)).toBe(2)
  })

  it('reuses a connection within the Keep-Alive timeout hint (minus 1 s) and closes it at the hint', async () => {
    const s = await server((req, res) => {
      res.setHeader('keep-alive', 'timeout=3')
      res.end('hint')
    })
    const clock = new ManualClock()
    const transport = f.use(new Transport({ raceDial: false, clock }))
    await get(transport, s.origin)
    clock.advance(1_999)
    await get(transport, s.origin)
    expect(s.connections).toBe(1)
    clock.advance(1_999)
    expect(transport.stats().total.idle).toBe(1)
    clock.advance(1) // 2 s after the last response: below the 4 s idleConnTimeout, at the hint
    expect(transport.stats().total.idle).toBe(0)
    await s.closedCount(1)
  })
})

describe('Transport: pool limits', () => {
  it('with maxConnsPerHost 2 and two unread responses, a third request fails after maxWaitTime naming both holders', async () => {
    const s = await server((req, res) => res.end(BIG))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ maxConnsPerHost: 2, maxWaitTime: 200, clock }))
    const first = await transport.roundTrip(new Request(`${s.origin}/first`))
    const second = await transport.roundTrip(new Request(`${s.origin}/second`))
    clock.advance(30)
    const third = rejection(transport.roundTrip(new Request(`${s.origin}/third`)))
    expect(transport.stats().total.waiting).toBe(1)
    clock.advance(199)
    expect(transport.stats().total.waiting).toBe(1)
    clock.advance(1)
    const error = await third
    expect(isRoundTripError(error, 'RT_POOL_EXHAUSTED')).toBe(true)
    const message = (error as Error).message
    expect(message).toContain(`GET ${s.origin}/first`)
    expect(message).toContain(`GET ${s.origin}/second`)
    expect(message).toContain('2 busy')
    expect(message).toContain(`GET ${s.origin}/first (held 230 ms)`)
    expect(message).toContain('response.body?.cancel()')
    expect(transport.stats().total.holders.map((h) => h.url).sort()).toEqual([`${s.origin}/first`, `${s.origin}/second`])
    await first.body?.cancel()
    await second.body?.cancel()
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0 })
  })

  it('keeps no request it served through the queue at maxConnsPerHost (the keep-alive conn never dies)', async () => {
    const s = await server()
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    // Counted as collected by a FinalizationRegistry (a WeakRef's deref would keep its target through the collection that follows).
    let collected = 0
    const registry = new FinalizationRegistry<undefined>(() => collected++)
    const send = async (): Promise<string> => {
      const request = new Request(s.origin)
      registry.register(request, undefined)
      return (await transport.roundTrip(request)).text()
    }
    // Each round: one request takes the idle conn, 19 queue at the limit and are served in turn as it is released.
    for (let round = 0; round < 10; round++) expect(await Promise.all(Array.from({ length: 20 }, send))).toEqual(Array(20).fill('ok'))
    expect(s.connections).toBe(1)
    // At most the last round's waiters are still queued (dropped once the next request queues), not all 190 that queued.
    await collectGarbage(() => collected >= 200 - 25)
    expect(collected).toBeGreaterThanOrEqual(200 - 25)
  })

  it('gives a dial whose waiter left to the next waiter (late binding)', async () => {
    const s = f.serve(await startHoldingServer())
    const transport = f.use(new Transport({ maxConnsPerHost: 2 }))
    const hold = transport.roundTrip(new Request(`${s.origin}/hold`))
    await s.holding
    // A request that gives up while its dial is in flight.
    const controller = new AbortController()
    const gone = transport.roundTrip(new Request(`${s.origin}/gone`, { signal: controller.signal }))
    controller.abort()
    await expect(gone).rejects.toMatchObject({ name: 'AbortError' })
    // Its dial completes anyway and serves the next request, which, at the limit, dialed nothing itself.
    expect(await get(transport, `${s.origin}/next`)).toBe('/next')
    s.release()
    expect(await (await hold).text()).toBe('/hold')
    expect(transport.stats().total.dials).toBe(2)
    expect(s.connections).toBe(2)
  })

  it('frees the slot of a failed dial for the next waiter', async () => {
    const s = await server()
    let fail = true
    const gets: string[] = []
    const transport = f.use(new Transport({
      maxConnsPerHost: 1,
      dial: async ({ hostname, port }) => {
        const { connect } = await import('node:net')
        if (fail) {
          fail = false
          throw Object.assign(new Error('simulated dial failure'), { code: 'ECONNRESET' })
        }
        return connect({ host: hostname, port })
      },
    }))
    const trace = (name: string) => ({ trace: { getConn: () => void gets.push(name) } })
    const first = transport.roundTrip(withContext(new Request(`${s.origin}/1`), trace('first')))
    const second = transport.roundTrip(withContext(new Request(`${s.origin}/2`), trace('second')))
    await expect(first).rejects.toMatchObject({ code: 'RT_CONNECT_FAILED' })
    expect(await (await second).text()).toBe('ok')
    expect(gets).toEqual(['first', 'second'])
    expect(transport.stats().total).toMatchObject({ dials: 2, active: 0, waiting: 0 })
  })
})
