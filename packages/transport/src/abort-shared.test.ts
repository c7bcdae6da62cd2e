import { getEventListeners } from 'node:events'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { busyCounts, deferred } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

// A signal shared by calls in flight: one Request sent many times at once.
describe('Transport: a signal shared by calls in flight', () => {
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  beforeEach(() => {
    warnings.length = 0
    process.on('warning', onWarning)
  })
  afterEach(() => {
    process.off('warning', onWarning)
  })

  it('sends one Request 64 times at once without a MaxListenersExceededWarning, and its signal keeps no listener after', async () => {
    const server = f.serve(await startServer((req, res) => setImmediate(() => res.end('ok'))))
    // Four conns: most calls wait in the queue, the others wait for their head.
    const transport = f.use(new Transport({ maxConnsPerHost: 4 }))
    const request = new Request(server.origin)
    const responses = await Promise.all(Array.from({ length: 64 }, () => transport.roundTrip(request)))
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(Array.from({ length: 64 }, () => 'ok'))
    // process.emitWarning emits on the next tick.
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.map((w) => w.name)).toEqual([])
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it('rejects every call waiting on the shared signal with its reason when it aborts, and frees their conns', async () => {
    let arrived = 0
    const twoArrived = deferred()
    // Never answers.
    const server = f.serve(await startServer(() => {
      if (++arrived === 2) twoArrived.resolve()
    }))
    const transport = f.use(new Transport({ maxConnsPerHost: 2 }))
    const controller = new AbortController()
    const request = new Request(server.origin, { signal: controller.signal })
    // Two wait for their head, two in the queue.
    const calls = Array.from({ length: 4 }, () => transport.roundTrip(request))
    await twoArrived.promise
    expect(transport.stats().total.waiting).toBe(2)
    const reason = new Error('all of them')
    controller.abort(reason)
    for (const call of calls) await expect(call).rejects.toBe(reason)
    await server.closedCount(2)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it('a call that ends leaves the others on the shared signal listening', async () => {
    let seen = 0
    const held = deferred()
    // The first request is held (never answered), the second answered.
    const server = f.serve(await startServer((req, res) => {
      if (++seen === 1) held.resolve()
      else res.end('done')
    }))
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const request = new Request(server.origin, { signal: controller.signal })
    const hanging = transport.roundTrip(request)
    await held.promise
    const done = await transport.roundTrip(request)
    expect(await done.text()).toBe('done')
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(1)
    const reason = new Error('the one left')
    controller.abort(reason)
    await expect(hanging).rejects.toBe(reason)
    await server.closedCount(1)
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
