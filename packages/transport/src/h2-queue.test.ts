import { describe, expect, it } from 'vitest'
import { dispatchGet } from '../test/dispatch.js'
import { useFixture } from '../test/fixture.js'
import { startH2Server, type H2Handler } from '../test/h2.js'
import { deferred, rejection } from '../test/util.js'
import { Transport } from './transport.js'

// Long queues of requests waiting for streams of one HTTP/2 conn
// (pool-policy.ts's serveH2): thousands of waiters served at once, when the
// server raises SETTINGS_MAX_CONCURRENT_STREAMS or a stream frees up, must be
// served in a loop, in order, each once.

const f = useFixture()

/** Queued requests served: more than the 1,000 streams one conn uses at once, so the queue is served by the SETTINGS and then by streams freed. */
const SERVED = 1_200
/** Queued requests refused: before serveH2 was a loop, each nested a call deeper, and 2,000 overflowed the stack (a waiter was lost, the test timed out). */
const REFUSED = 2_000

/** An h2c server whose sessions allow `streams` at once until the test raises it; the first request (`/hold`) is held until `letGo`. */
async function startNarrowServer(streams: number) {
  const hold = deferred()
  const handler: H2Handler = (req, res) => {
    if (req.url === '/hold') return void hold.promise.then(() => res.end('held'))
    res.end(req.url)
  }
  const server = f.serve(await startH2Server(handler, { settings: { maxConcurrentStreams: streams } }))
  return { server, letGo: hold.resolve }
}

/** Resolves once the server is serving the held request. */
async function untilHeld(server: { inFlight(): number }): Promise<void> {
  while (server.inFlight() < 1) await new Promise((resolve) => setImmediate(resolve))
}

describe('HTTP/2 wait queue (strictMaxConcurrentStreams)', () => {
  it(`serves ${SERVED} requests queued on one conn, in order, when the server raises its SETTINGS_MAX_CONCURRENT_STREAMS`, async () => {
    const { server, letGo } = await startNarrowServer(1)
    const transport = f.use(new Transport({ protocols: ['h2c'], http2: { strictMaxConcurrentStreams: true } }))
    const held = transport.roundTrip(new Request(`${server.origin}/hold`))
    await untilHeld(server)
    const order: number[] = []
    const pending = Array.from({ length: SERVED }, async (_, i) => {
      const response = await transport.roundTrip(new Request(`${server.origin}/${i}`))
      order.push(i)
      return response.text()
    })
    expect(transport.stats().total).toMatchObject({ streams: 1, waiting: SERVED, dials: 1 })
    // The server allows 1,000 streams at once (the most one conn uses): the queue is served as the SETTINGS arrive, then as streams free up.
    const [session] = server.live
    session!.settings({ maxConcurrentStreams: 1_000 })
    const bodies = await Promise.all(pending)
    expect(bodies).toEqual(Array.from({ length: SERVED }, (_, i) => `/${i}`))
    expect(order).toEqual(Array.from({ length: SERVED }, (_, i) => i))
    letGo()
    expect(await (await held).text()).toBe('held')
    expect(server.sessions()).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: SERVED + 1, streams: 0, waiting: 0, dialing: 0 })
  })

  it(`fails ${REFUSED} queued requests that HTTP/2 refuses to send, each with its own error, when a stream frees up`, async () => {
    const { server, letGo } = await startNarrowServer(1)
    const transport = f.use(new Transport({ protocols: ['h2c'], http2: { strictMaxConcurrentStreams: true } }))
    const held = transport.roundTrip(new Request(`${server.origin}/hold`))
    await untilHeld(server)
    // A header name HTTP/2 refuses (an undici dispatch can carry one): each stream fails as it is opened, before anything is written.
    const refused = Array.from({ length: REFUSED }, (_, i) => rejection(dispatchGet(transport, `${server.origin}/${i}`, { headers: { ':bogus': 'x' } })))
    const fine = transport.roundTrip(new Request(`${server.origin}/after`))
    expect(transport.stats().total).toMatchObject({ streams: 1, waiting: REFUSED + 1 })
    letGo()
    expect(await (await held).text()).toBe('held')
    const errors = await Promise.all(refused)
    for (const [i, error] of errors.entries()) {
      expect(error, `request ${i}`).toMatchObject({ code: 'RT_INVALID_REQUEST' })
      expect(error.message).toContain(`${server.origin}/${i}`)
    }
    expect(await (await fine).text()).toBe('/after')
    expect(transport.stats().total).toMatchObject({ dials: 1, streams: 0, waiting: 0, dialing: 0 })
  })
})
