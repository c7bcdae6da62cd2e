import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { deferred, direct, rejection } from '../test/util.js'
import { Transport } from './transport.js'

// A request sent again because its conn failed under it (retry-policy.ts's
// shouldResend) keeps its place in the wait queue: it arrived before the
// requests queued behind it, and lost its conn through no doing of its own.
// Go's getConn puts it at the back (its retry loop queues anew); undici keeps
// such a request at its place in its client's queue, and OkHttp's dispatcher
// counts a call against its per-host limit until it ends, retries included.

const f = useFixture()

type Send = (transport: Transport, url: string) => Promise<string>

const viaRoundTrip: Send = async (transport, url) => (await transport.roundTrip(new Request(url))).text()
/** Node's fetch over the Transport's undici entry point (the direct path of `toDispatcher`). */
const viaDispatch: Send = async (transport, url) => (await fetch(url, direct(transport))).text()

/** Resolves after the current turn (and the next) of the event loop. */
function nextTurns(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport wait queue, a request sent again (%s)', (_path, send) => {
  it('at maxConnsPerHost, takes the first conn that comes before the requests that queued behind it', async () => {
    const arrived: string[] = []
    let cut = true
    const server = f.serve(
      await startServer((req, res) => {
        arrived.push(req.url!)
        // The server closes the kept-alive conn as /b arrives: /b is sent again on a new conn.
        if (req.url === '/b' && cut) {
          cut = false
          return void req.socket.destroy()
        }
        res.end(req.url)
      }),
    )
    const transport = f.use(new Transport({ maxConnsPerHost: 1, raceDial: false }))
    expect(await send(transport, `${server.origin}/a`)).toBe('/a')
    await nextTurns()
    const b = send(transport, `${server.origin}/b`)
    const q1 = send(transport, `${server.origin}/q1`)
    const q2 = send(transport, `${server.origin}/q2`)
    expect(await Promise.all([b, q1, q2])).toEqual(['/b', '/q1', '/q2'])
    expect(arrived).toEqual(['/a', '/b', '/b', '/q1', '/q2'])
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 5, active: 0, idle: 1, waiting: 0, dialing: 0 })
  })
})

describe('Transport wait queue, the request a resent one takes a conn from', () => {
  it('waits at maxConnsPerHost as any request there: announced on queued, failed by maxWaitTime', async () => {
    const gate = deferred()
    const resentArrived = deferred()
    let bSeen = 0
    const server = f.serve(
      await startServer((req, res) => {
        if (req.url === '/hold') return void gate.promise.then(() => res.end('held'))
        if (req.url === '/b' && ++bSeen === 1) return void req.socket.destroy()
        if (req.url === '/b') {
          resentArrived.resolve()
          return void gate.promise.then(() => res.end(req.url))
        }
        res.end(req.url)
      }),
    )
    const clock = new ManualClock()
    const transport = f.use(new Transport({ maxConnsPerHost: 2, maxWaitTime: 100, raceDial: false, clock }))
    await Promise.all([transport.roundTrip(new Request(`${server.origin}/w1`)), transport.roundTrip(new Request(`${server.origin}/w2`))].map(async (r) => (await r).text()))
    await nextTurns()
    expect(transport.stats().total).toMatchObject({ idle: 2 })
    const queued: unknown[] = []
    const dequeued: unknown[] = []
    const onQueued = (message: unknown): void => void queued.push((message as { request?: Request }).request)
    const onDequeued = (message: unknown): void => void dequeued.push(message)
    // /q comes as /b's conn dies (its slot free), before /b is sent again at the limit: /q dials, and /b, which came first, takes that conn.
    let q: Promise<Error & { code?: string }> | undefined
    const qRequest = new Request(`${server.origin}/q`)
    const onClosed = (): void => void (q ??= rejection(transport.roundTrip(qRequest)))
    subscribe('roundtrip:pool:queued', onQueued)
    subscribe('roundtrip:pool:dequeued', onDequeued)
    subscribe('roundtrip:conn:closed', onClosed)
    try {
      const hold = transport.roundTrip(new Request(`${server.origin}/hold`)).then(async (r) => r.text(), (error: Error) => error.message)
      const b = transport.roundTrip(new Request(`${server.origin}/b`)).then(async (r) => r.text(), (error: Error) => error.message)
      // /b, sent again, holds the conn dialed for /q as /hold holds the other: /q waits at the limit.
      await resentArrived.promise
      expect(q).toBeDefined()
      expect(queued).toContain(qRequest)
      clock.advance(100)
      // Had /q's wait no deadline, it would take a conn once /hold's or /b's is freed (and resolve).
      gate.resolve()
      const error = await q!
      expect(error.code).toBe('RT_POOL_EXHAUSTED')
      expect(dequeued).toContainEqual(expect.objectContaining({ request: qRequest, gotConn: false }))
      expect(await hold).toBe('held')
      expect(await b).toBe('/b')
    } finally {
      gate.resolve()
      unsubscribe('roundtrip:pool:queued', onQueued)
      unsubscribe('roundtrip:pool:dequeued', onDequeued)
      unsubscribe('roundtrip:conn:closed', onClosed)
    }
  })
})
