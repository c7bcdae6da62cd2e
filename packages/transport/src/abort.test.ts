import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startHoldingServer, startServer } from '../test/server.js'
import { busyCounts, deferred } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

describe('Transport: aborts', () => {
  it('rejects with the signal reason at once when the signal is already aborted', async () => {
    const server = f.serve(await startServer((req, res) => res.end('x')))
    const transport = f.use(new Transport())
    const reason = new Error('already')
    await expect(transport.roundTrip(new Request(server.origin, { signal: AbortSignal.abort(reason) }))).rejects.toBe(reason)
    expect(server.connections).toBe(0)
  })

  it('takes a waiter out of the queue at once when its signal aborts', async () => {
    const server = f.serve(await startHoldingServer())
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const first = transport.roundTrip(new Request(`${server.origin}/hold`))
    const controller = new AbortController()
    const waiting = transport.roundTrip(new Request(`${server.origin}/waiting`, { signal: controller.signal }))
    await server.holding
    expect(transport.stats().total.waiting).toBe(1)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    expect(transport.stats().total.waiting).toBe(0)
    server.release()
    expect(await (await first).text()).toBe('/hold')
    // The aborted waiter never reached the server; the next request reuses the conn.
    expect(await (await transport.roundTrip(new Request(`${server.origin}/next`))).text()).toBe('/next')
    expect(server.connections).toBe(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('closes the connection when the signal aborts while waiting for the response head', async () => {
    const inHandler = deferred()
    const server = f.serve(await startServer(() => inHandler.resolve())) // never answers
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const pending = transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    await inHandler.promise
    const reason = new Error('took too long')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('errors the body with the signal reason when the signal aborts while the body is read', async () => {
    const server = f.serve(await startServer((req, res) => {
      res.write('first part')
      // never ends
    }))
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const response = await transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first part')
    const reason = new Error('stop reading')
    controller.abort(reason)
    await expect(reader.read()).rejects.toBe(reason)
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects text() with the signal reason when the signal aborts mid-body', async () => {
    const server = f.serve(await startServer((req, res) => res.write('partial')))
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const response = await transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    const text = response.text()
    controller.abort()
    await expect(text).rejects.toMatchObject({ name: 'AbortError' })
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('closes the connection when a streaming body is cancelled with a DOMException (its code is a number)', async () => {
    const server = f.serve(await startServer((req, res) => res.write('partial'))) // never ends
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
