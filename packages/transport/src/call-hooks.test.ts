import { attachHooks, withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startHoldingServer, startServer } from '../test/server.js'
import { busyCounts, deferred } from '../test/util.js'
import type { GotConnInfo } from './trace.js'
import { Transport } from './transport.js'

const f = useFixture()

// What a middleware attaches with core's attachHooks for its call reaches the
// Transport as if the request carried it: no derived Request needed.
describe('Transport: hooks a layer attached for the call', () => {
  it('an attached signal aborting while the head is awaited rejects with its reason and closes the connection', async () => {
    const inHandler = deferred()
    const server = f.serve(await startServer(() => inHandler.resolve())) // never answers
    const transport = f.use(new Transport())
    const request = new Request(server.origin)
    const deadline = new AbortController()
    attachHooks(request, { signal: deadline.signal })
    const pending = transport.roundTrip(request)
    await inHandler.promise
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    deadline.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await server.closedCount(1)
    expect(request.signal.aborted).toBe(false)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('an attached signal takes a waiting request out of the queue', async () => {
    const server = f.serve(await startHoldingServer())
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const held = transport.roundTrip(new Request(`${server.origin}/hold`))
    const waiting = new Request(`${server.origin}/waiting`)
    const queueDeadline = new AbortController()
    attachHooks(waiting, { signal: queueDeadline.signal })
    const queued = transport.roundTrip(waiting)
    await server.holding
    expect(transport.stats().total.waiting).toBe(1)
    queueDeadline.abort(new Error('queue deadline'))
    await expect(queued).rejects.toThrow('queue deadline')
    expect(transport.stats().total.waiting).toBe(0)
    server.release()
    expect(await (await held).text()).toBe('/hold')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('an attached signal aborting while the body streams errors the read and closes the connection', async () => {
    const server = f.serve(await startServer((req, res) => res.write('first part'))) // never ends
    const transport = f.use(new Transport())
    const request = new Request(server.origin)
    const deadline = new AbortController()
    attachHooks(request, { signal: deadline.signal })
    const reader = (await transport.roundTrip(request)).body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first part')
    deadline.abort(new Error('body deadline'))
    await expect(reader.read()).rejects.toThrow('body deadline')
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it("calls an attached trace's hooks after the context's own", async () => {
    const server = f.serve(await startServer((req, res) => res.end('x')))
    const transport = f.use(new Transport())
    const calls: string[] = []
    const request = withContext(new Request(server.origin), { trace: { gotConn: (info: GotConnInfo) => calls.push(`context ${info.reused}`) } })
    const detach = attachHooks(request, { trace: { gotConn: (info: GotConnInfo) => calls.push(`attached ${info.reused}`) } })
    expect(await (await transport.roundTrip(request)).text()).toBe('x')
    detach()
    expect(await (await transport.roundTrip(request)).text()).toBe('x')
    expect(calls).toEqual(['context false', 'attached false', 'context true'])
  })
})
