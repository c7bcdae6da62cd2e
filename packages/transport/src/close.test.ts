import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { busyCounts, deferred, rejection } from '../test/util.js'
import { Transport } from './index.js'

const f = useFixture()

describe('Transport close()', () => {
  it('rejects requests waiting for a connection with RT_TRANSPORT_CLOSED', async () => {
    const gate = deferred()
    const server = f.serve(await startServer((_req, res) => void gate.promise.then(() => res.end('ok'))))
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const first = transport.roundTrip(new Request(`${server.origin}/first`))
    const waiting = transport.roundTrip(new Request(`${server.origin}/waiting`))
    await new Promise<void>((resolve) => server.server.once('request', () => resolve()))
    expect(transport.stats().total.waiting).toBe(1)
    const closing = transport.close()
    const error = await rejection(waiting)
    expect(error.code).toBe('RT_TRANSPORT_CLOSED')
    gate.resolve()
    expect(await (await first).text()).toBe('ok')
    await closing
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('abandons a dial in progress and resolves', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const dialing = deferred()
    const transport = f.use(
      new Transport({
        dial: ({ signal }) => {
          dialing.resolve()
          // A dial that only ends when the transport gives up on it.
          return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
        },
      }),
    )
    const request = transport.roundTrip(new Request(server.origin))
    await dialing.promise
    expect(transport.stats().total.dialing).toBe(1)
    await transport.close()
    const error = await rejection(request)
    expect(error.code).toBe('RT_TRANSPORT_CLOSED')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    expect(server.connections).toBe(0)
  })

  it('closes a connection whose dial completes after close()', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const gate = deferred()
    const dialing = deferred()
    const transport = f.use(
      new Transport({
        dial: async () => {
          dialing.resolve()
          await gate.promise
          // Ignores the abort: the socket arrives after close().
          return connect(server.port, '127.0.0.1')
        },
      }),
    )
    const request = transport.roundTrip(new Request(server.origin))
    await dialing.promise
    const closing = transport.close()
    gate.resolve()
    expect((await rejection(request)).code).toBe('RT_TRANSPORT_CLOSED')
    await closing
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    expect(transport.stats().total.idle).toBe(0)
  })
})
