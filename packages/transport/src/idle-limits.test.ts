import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { busyCounts, deferred, get, rejection } from '../test/util.js'
import { useFixture } from '../test/fixture.js'
import { Transport } from './index.js'

const f = useFixture()

/** A server that holds every response until `n` requests have arrived (so `n` connections open), then answers at once. */
function gatheringServer(n: number): Promise<TestServer> {
  const held: Array<() => void> = []
  let arrived = 0
  return startServer((_req, res) => {
    if (++arrived > n) return void res.end('ok')
    held.push(() => res.end('ok'))
    if (held.length === n) for (const release of held.splice(0)) release()
  })
}

describe('Transport idle limits', () => {
  it('keeps at most maxIdleConnsPerHost idle connections and closes the rest', async () => {
    const server = f.serve(await gatheringServer(4))
    const transport = f.use(new Transport({ maxIdleConnsPerHost: 2 }))
    await Promise.all([1, 2, 3, 4].map(() => get(transport, server.origin)))
    await server.closedCount(2)
    expect(transport.stats().total.idle).toBe(2)
    expect(server.open.size).toBe(2)
    // The two kept are reused.
    await Promise.all([1, 2].map(() => get(transport, server.origin)))
    expect(server.connections).toBe(4)
  })

  it('keeps no idle connection with maxIdleConnsPerHost 0', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const transport = f.use(new Transport({ maxIdleConnsPerHost: 0 }))
    await get(transport, server.origin)
    await server.closedCount(1)
    await get(transport, server.origin)
    expect(server.connections).toBe(2)
  })

  it('puts a dial whose waiter left in the idle pool when nobody waits, and the next request uses it', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const port = server.port
    const gate = deferred()
    const transport = f.use(new Transport({
      dial: async () => {
        await gate.promise
        return connect(port, '127.0.0.1')
      },
    }))
    const controller = new AbortController()
    const first = transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    expect(transport.stats().total.dialing).toBe(1)
    controller.abort(new Error('gave up'))
    expect((await rejection(first)).message).toBe('gave up')
    const idle = deferred()
    const onIdle = (): void => idle.resolve()
    subscribe('roundtrip:conn:idle', onIdle)
    try {
      gate.resolve()
      await idle.promise
    } finally {
      unsubscribe('roundtrip:conn:idle', onIdle)
    }
    expect(transport.stats().total).toMatchObject({ idle: 1, dials: 1, requests: 0 })
    expect(await get(transport, server.origin)).toBe('ok')
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 1 })
    expect(server.connections).toBe(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
