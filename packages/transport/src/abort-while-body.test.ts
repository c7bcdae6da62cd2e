import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect } from 'node:net'
import { attachHooks, CallAbortController } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startHoldingServer, startServer } from '../test/server.js'
import { busyCounts, deferred } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

// A request with a body has it prepared (an await) before it asks the pool
// for a conn: a signal that aborts meanwhile has aborted before the wait
// starts listening, and must still fail the request at once, as Node's fetch
// does — not leave it in the queue until a conn is freed, or until its dial
// connects.

/** What comes first: the request's rejection, or `other` (resolving with its label). */
function firstOf(request: Promise<Response>, other: Promise<string>): Promise<unknown> {
  return Promise.race([request.then(() => 'resolved', (error: unknown) => error), other])
}

/**
 * Sends the request `make` gives at `maxConnsPerHost: 1` while the only conn
 * is held, calls its `abort` at once, and gives what came first: the request's rejection or the
 * pool's `queued` announcement; then checks that nothing waits, frees the
 * held conn and checks the pool is empty.
 */
async function abortBehindHeldConn(make: (origin: string) => { request: Request; abort: () => void }): Promise<unknown> {
  const server = f.serve(await startHoldingServer())
  const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
  const held = transport.roundTrip(new Request(`${server.origin}/hold`))
  held.catch(() => undefined) // awaited below; not unhandled if an assertion fails first
  await server.holding
  const { request, abort } = make(server.origin)
  const inQueue = deferred<string>()
  const onQueue = (): void => inQueue.resolve('queued')
  subscribe('roundtrip:pool:queued', onQueue)
  let first: unknown
  try {
    const pending = transport.roundTrip(request)
    abort()
    first = await firstOf(pending, inQueue.promise)
  } finally {
    unsubscribe('roundtrip:pool:queued', onQueue)
  }
  expect(transport.stats().total.waiting).toBe(0)
  server.release()
  expect(await (await held).text()).toBe('/hold')
  expect(server.connections).toBe(1)
  expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  return first
}

describe('Transport: a signal that aborts while the request body is prepared', () => {
  it('fails the request at once at maxConnsPerHost (it never queues)', async () => {
    const controller = new AbortController()
    const reason = new Error('my abort')
    const first = await abortBehindHeldConn((origin) => ({
      request: new Request(`${origin}/post`, { method: 'POST', body: 'abc', signal: controller.signal }),
      abort: () => controller.abort(reason),
    }))
    expect(first).toBe(reason)
  })

  it('fails the request at once when a layer’s CallAbortController aborts (a deadline)', async () => {
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    const first = await abortBehindHeldConn((origin) => {
      const request = new Request(`${origin}/post`, { method: 'POST', body: 'abc' })
      const deadline = new CallAbortController(request.signal)
      attachHooks(request, { signal: deadline.signal })
      return { request, abort: () => deadline.abort(reason) }
    })
    expect(first).toBe(reason)
  })

  it('fails the request at once without a pool limit (no dial is made for it)', async () => {
    const server = f.serve(await startServer((req, res) => req.resume().on('end', () => res.end('ok'))))
    const dialed = deferred<string>()
    const transport = f.use(
      new Transport({
        dial: () => {
          dialed.resolve('dialed')
          return connect(server.port, '127.0.0.1')
        },
      }),
    )
    const controller = new AbortController()
    const pending = transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'abc', signal: controller.signal }))
    const reason = new Error('my abort')
    controller.abort(reason)
    expect(await firstOf(pending, dialed.promise)).toBe(reason)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    // The transport still works.
    expect(await (await transport.roundTrip(new Request(server.origin, { method: 'POST', body: 'x' }))).text()).toBe('ok')
  })
})
