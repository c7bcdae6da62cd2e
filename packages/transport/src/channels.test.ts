import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer } from '../test/server.js'
import { busyCounts, deferred, rejection } from '../test/util.js'
import { useFixture } from '../test/fixture.js'
import { ManualClock } from '../test/clock.js'
import { Transport } from './index.js'

const f = useFixture()
const subscriptions: Array<[string, (message: unknown) => void]> = []

afterEach(() => {
  for (const [name, listener] of subscriptions.splice(0)) unsubscribe(name, listener)
})

function listen(name: string): unknown[] {
  const messages: unknown[] = []
  const listener = (message: unknown): void => void messages.push(message)
  subscribe(name, listener)
  subscriptions.push([name, listener])
  return messages
}

describe('Transport diagnostics channels: queueing and closing', () => {
  it('publishes queued, wait-failed and closed events with their fields', async () => {
    const gate = deferred()
    const server = f.serve(await startServer((_req, res) => void gate.promise.then(() => res.end('ok'))))
    const queued = listen('roundtrip:pool:queued')
    const waitFailed = listen('roundtrip:pool:wait-failed')
    const idle = listen('roundtrip:conn:idle')
    const closed = listen('roundtrip:conn:closed')
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const key = `http://127.0.0.1:${server.port}`

    const first = transport.roundTrip(new Request(server.origin))
    const controller = new AbortController()
    const waiting = new Request(server.origin, { signal: controller.signal })
    const second = transport.roundTrip(waiting)
    controller.abort(new Error('stop waiting'))
    expect((await rejection(second)).message).toBe('stop waiting')
    gate.resolve()
    await (await first).text()
    transport.closeIdleConnections()
    await server.closedCount(1)

    expect(queued).toEqual([{ key, waiting: 2, request: expect.any(Request) }])
    // The waiting request itself, so that a layer above knows which of its calls waits.
    expect((queued[0] as { request: Request }).request).toBe(waiting)
    expect(waitFailed).toEqual([{ key, reason: 'aborted' }])
    expect(idle).toEqual([{ key, requests: 1 }])
    expect(closed).toEqual([{ key, reason: 'closeIdleConnections' }])
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('publishes dequeued, naming the Request, when a queued request is handed a connection or leaves the queue', async () => {
    const gate = deferred()
    const server = f.serve(await startServer((_req, res) => void gate.promise.then(() => res.end('ok'))))
    const dequeued = listen('roundtrip:pool:dequeued')
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const key = `http://127.0.0.1:${server.port}`

    const first = transport.roundTrip(new Request(server.origin))
    const controller = new AbortController()
    const leaving = new Request(server.origin, { signal: controller.signal })
    const left = rejection(transport.roundTrip(leaving))
    const served = new Request(server.origin)
    const third = transport.roundTrip(served)
    expect(dequeued).toEqual([])
    controller.abort(new Error('stop waiting'))
    expect((await left).message).toBe('stop waiting')
    expect(dequeued).toEqual([{ key, request: leaving, gotConn: false }])
    gate.resolve()
    await (await first).text()
    expect(dequeued).toEqual([
      { key, request: leaving, gotConn: false },
      { key, request: served, gotConn: true },
    ])
    expect(await (await third).text()).toBe('ok')
    // A request that got a connection without waiting in the queue is not announced.
    await (await transport.roundTrip(new Request(server.origin))).text()
    expect(dequeued).toHaveLength(2)
  })

  it('publishes wait-failed with reason maxWaitTime when a waiter times out', async () => {
    const gate = deferred()
    const server = f.serve(await startServer((_req, res) => void gate.promise.then(() => res.end('ok'))))
    const waitFailed = listen('roundtrip:pool:wait-failed')
    const clock = new ManualClock()
    const transport = f.use(new Transport({ maxConnsPerHost: 1, maxWaitTime: 50, clock }))
    const first = transport.roundTrip(new Request(server.origin))
    const second = rejection(transport.roundTrip(new Request(server.origin)))
    clock.advance(50)
    const error = await second
    expect(error.code).toBe('RT_POOL_EXHAUSTED')
    expect(waitFailed).toEqual([{ key: `http://127.0.0.1:${server.port}`, reason: 'maxWaitTime' }])
    gate.resolve()
    await (await first).text()
  })
})
