import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect } from 'node:net'
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

/** The body of `response` as text, or the message of what it rejected with. */
async function textOf(response: Promise<Response>): Promise<string> {
  return response.then(async (r) => r.text(), (error: Error) => error.message)
}

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

describe('Transport wait queue, requests sent again one behind the other', () => {
  it('a conn dialed for a later request goes to the first resent one with no dial of its own, past one that has its own', async () => {
    const arrived: string[] = []
    let onArrival = (): void => {}
    const cut = new Set(['/r1', '/r2'])
    const server = f.serve(
      await startServer((req, res) => {
        arrived.push(req.url!)
        onArrival()
        // The server closes the kept-alive conns as /r1 and /r2 arrive: both are sent again.
        if (cut.delete(req.url!)) return void req.socket.destroy()
        res.end(req.url)
      }),
    )
    /** Resolves once `n` requests have arrived. */
    const arrivals = (n: number): Promise<void> =>
      new Promise((resolve) => {
        onArrival = () => void (arrived.length >= n && resolve())
        onArrival()
      })
    // Dials after the warm-up wait until the test lets them connect, in the order it chooses.
    let gated = false
    const dials: Array<() => void> = []
    const transport = f.use(
      new Transport({
        maxConnsPerHost: 2,
        raceDial: false,
        dial: async ({ hostname, port }) => {
          if (gated) await new Promise<void>((resolve) => dials.push(resolve))
          return connect({ host: hostname, port })
        },
      }),
    )
    await Promise.all([`${server.origin}/w1`, `${server.origin}/w2`].map(async (url) => (await transport.roundTrip(new Request(url))).text()))
    await nextTurns()
    expect(transport.stats().total).toMatchObject({ idle: 2 })
    gated = true
    // /w comes as the first conn dies: it dials (dial 1). The first request sent again dials too once a slot is free (dial 2), the second waits at the limit behind it.
    let w: Promise<string> | undefined
    const onClosed = (): void => void (w ??= textOf(transport.roundTrip(new Request(`${server.origin}/w`))))
    subscribe('roundtrip:conn:closed', onClosed)
    try {
      const r1 = textOf(transport.roundTrip(new Request(`${server.origin}/r1`)))
      const r2 = textOf(transport.roundTrip(new Request(`${server.origin}/r2`)))
      for (let i = 0; i < 1000 && (dials.length < 2 || transport.stats().total.waiting < 3); i++) await nextTurns()
      expect(dials).toHaveLength(2)
      expect(transport.stats().total).toMatchObject({ dialing: 2, waiting: 3 })
      // /w's dial connects first: its conn goes to the resent request that has no dial, which came before /w.
      dials[0]!()
      await arrivals(5)
      expect(['/r1', '/r2']).toContain(arrived[4])
      dials[1]!()
      expect(await Promise.all([r1, r2, w!])).toEqual(['/r1', '/r2', '/w'])
      expect(arrived.slice(4).sort()).toEqual(['/r1', '/r2', '/w'])
    } finally {
      unsubscribe('roundtrip:conn:closed', onClosed)
      for (const dial of dials) dial()
    }
  })
})
