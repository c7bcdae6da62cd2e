import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect, type Socket } from 'node:net'
import { withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { dispatchGet, startPortServer } from '../test/dispatch.js'
import { startServer, type TestServer } from '../test/server.js'
import { ManualClock } from '../test/clock.js'
import { deferred, rejection } from '../test/util.js'
import type { ClientTrace } from './trace.js'
import { Transport } from './transport.js'

// The `raceDial` option. A conn released in the current turn of the event
// loop is written on only once the turn has ended (turn.ts), so a request
// prefers a conn idle since an earlier turn, and when there is none it
// races a dial against that wait. Each request here is sent as the one
// before it ends (its body read in the turn its response ended), the way a
// sequential client sends: the conn it finds was released in this turn.

const f = useFixture()

/** A server that holds every `/hold` until `release` resolves and answers the others with the client port of their conn. */
function startHoldServer(release: Promise<void>): Promise<TestServer> {
  return startServer((req, res) => (req.url === '/hold' ? void release.then(() => res.end('held')) : res.end(String(req.socket.remotePort))))
}

/**
 * gatedDials is a `dial` option whose 2nd dial (the raced one) waits for
 * `raced` and whose 3rd (an earlier waiter's own) waits for `third`, then
 * fails with ECONNREFUSED when `thirdFails`; the others connect at once.
 */
function gatedDials(server: TestServer, thirdFails: boolean) {
  const raced = deferred()
  const third = deferred()
  let dials = 0
  const dial = async (): Promise<Socket> => {
    const n = ++dials
    if (n === 2) await raced.promise
    if (n === 3) {
      await third.promise
      if (thirdFails) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    }
    return connect(server.port, '127.0.0.1')
  }
  return { dial, raced, third }
}

type Send = (transport: Transport, url: string, trace?: ClientTrace) => Promise<string>

/** A GET through `roundTrip`; resolves with its body (read in the turn its response ended). */
const viaRoundTrip: Send = async (transport, url, trace) => {
  const request = trace === undefined ? new Request(url) : withContext(new Request(url), { trace })
  return (await transport.roundTrip(request)).text()
}

/** A GET through the undici entry point (`toDispatcher`'s direct path), with a legacy handler as `undici.request` passes. */
const viaDispatch: Send = (transport, url, trace) => dispatchGet(transport, url, { trace })

/** Sends `n` requests one after the other, each as the one before it ends; resolves with the client port of each. */
async function sequential(send: Send, transport: Transport, server: TestServer, n: number): Promise<string[]> {
  const ports: string[] = []
  for (let i = 0; i < n; i++) ports.push(await send(transport, `${server.origin}/${i}`))
  return ports
}

/** Resolves after the current turn (and the next) of the event loop: every idle conn is then idle since an earlier turn. */
function nextTurns(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport raceDial (%s)', (_path, send) => {
  it('sequential requests open two conns and alternate between them from the third on', async () => {
    const server = f.serve(await startPortServer())
    const transport = f.use(new Transport())
    const ports = await sequential(send, transport, server, 12)
    expect(new Set(ports).size).toBe(2)
    // The second request raced a dial; from the third on each takes the conn idle since an earlier turn: the other one.
    for (let i = 3; i < ports.length; i++) expect(ports[i], `request ${i}`).not.toBe(ports[i - 1])
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 12, active: 0, idle: 2, dialing: 0 })
  })

  it('with raceDial: false, sequential requests use one conn', async () => {
    const server = f.serve(await startPortServer())
    const transport = f.use(new Transport({ raceDial: false }))
    const ports = await sequential(send, transport, server, 6)
    expect(new Set(ports).size).toBe(1)
    expect(server.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 6 })
  })

  it('dials nothing when an idle conn is idle since an earlier turn', async () => {
    const server = f.serve(await startPortServer())
    const transport = f.use(new Transport())
    const first = await send(transport, `${server.origin}/first`)
    await nextTurns()
    const events: string[] = []
    const trace: ClientTrace = { connectStart: () => events.push('connectStart'), gotConn: (info) => events.push(`gotConn reused=${info.reused}`) }
    expect(await send(transport, `${server.origin}/second`, trace)).toBe(first)
    expect(events).toEqual(['gotConn reused=true'])
    expect(transport.stats().total).toMatchObject({ dials: 1, dialing: 0 })
  })

  it('never races a dial while another conn of the host is in use: only sequential traffic gets a second conn', async () => {
    let letGo!: () => void
    const held = new Promise<void>((resolve) => (letGo = resolve))
    const server = f.serve(
      await startServer(async (req, res) => {
        if (req.url === '/hold') await held
        res.end(String(req.socket.remotePort))
      }),
    )
    const transport = f.use(new Transport())
    const holding = send(transport, `${server.origin}/hold`)
    const ports = await sequential(send, transport, server, 6)
    expect(new Set(ports).size).toBe(1)
    letGo()
    expect(await holding).not.toBe(ports[0])
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 7 })
  })

  it.each([
    ['past maxConnsPerHost', { maxConnsPerHost: 1 }],
    ['whose conn could not stay idle beside the other (maxIdleConnsPerHost: 1)', { maxIdleConnsPerHost: 1 }],
  ])('never races a dial %s', async (_limit, options) => {
    const server = f.serve(await startPortServer())
    const transport = f.use(new Transport(options))
    const ports = await sequential(send, transport, server, 6)
    expect(new Set(ports).size).toBe(1)
    expect(server.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 6 })
  })

  it('gives the request to the raced dial when it is ready first; the conn waited for stays idle and serves the next request', async () => {
    const server = f.serve(await startPortServer())
    // The second socket is connected before it is asked for: the dial is ready within the turn, before the wait ends.
    const ready: Socket[] = []
    const dial = (): Socket => ready.shift() ?? connect(server.port, '127.0.0.1')
    const transport = f.use(new Transport({ dial }))
    const first = await send(transport, `${server.origin}/first`)
    const spare = connect(server.port, '127.0.0.1')
    await new Promise((resolve) => spare.once('connect', resolve))
    ready.push(spare)
    await nextTurns()
    // One request to settle the first conn's turn again, then the race.
    expect(await send(transport, `${server.origin}/again`)).toBe(first)
    const second = await send(transport, `${server.origin}/second`)
    expect(second).toBe(String(spare.localPort))
    // The conn the second request waited for went back idle: the third takes it, as idle since an earlier turn.
    expect(await send(transport, `${server.origin}/third`)).toBe(first)
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 4, active: 0, idle: 2 })
  })

  it.each([
    ['serves it', true],
    ['fails: the request gets a dial of its own', false],
  ])('a request whose conn died as it was written on waits for the raced dial still running, which %s', async (_outcome, dialOk) => {
    const server = f.serve(await startPortServer())
    const sockets: Socket[] = []
    let letDialGo!: () => void
    const gate = new Promise<void>((resolve) => (letDialGo = resolve))
    let dials = 0
    const dial = async (): Promise<Socket> => {
      // The second dial (the raced one) waits for the test, then connects or fails.
      if (++dials === 2) {
        await gate
        if (!dialOk) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
      }
      const socket = connect(server.port, '127.0.0.1')
      sockets.push(socket)
      return socket
    }
    const transport = f.use(new Transport({ dial }))
    const first = await send(transport, `${server.origin}/first`)
    const pending = send(transport, `${server.origin}/second`)
    expect(transport.stats().total.dialing).toBe(1)
    // The conn it waits for dies in this turn: it is written on at the turn's end, fails with nothing written, and is sent again.
    sockets[0]!.destroy()
    await nextTurns()
    // It waits for the raced dial, whose race is over, instead of dialing a third conn.
    expect(transport.stats().total).toMatchObject({ dials: 2, dialing: 1, waiting: 1 })
    letDialGo()
    const second = await pending
    expect(second).not.toBe(first)
    expect(second).toBe(String(sockets[1]!.localPort))
    expect(transport.stats().total).toMatchObject({ dials: dialOk ? 2 : 3, active: 0, idle: 1, waiting: 0, dialing: 0 })
  })

  it.each([
    ['serves it', true],
    ['fails: the request fails with its error, as in Go (nothing else would serve it), and nothing is left', false],
  ])('a request whose conn dies before the turn ends (idle timeout) adopts the raced dial, which %s', async (_outcome, dialOk) => {
    const server = f.serve(await startPortServer())
    const gate = deferred()
    const sockets: Socket[] = []
    let dials = 0
    const dial = async (): Promise<Socket> => {
      // The second dial (the raced one) waits for the test, then connects or fails.
      if (++dials === 2) {
        await gate.promise
        if (!dialOk) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
      }
      const socket = connect(server.port, '127.0.0.1')
      sockets.push(socket)
      return socket
    }
    const clock = new ManualClock()
    const transport = f.use(new Transport({ dial, clock, idleConnTimeout: 1_000 }))
    const first = await send(transport, `${server.origin}/first`)
    const settled = send(transport, `${server.origin}/second`).then(
      (body) => ({ body }),
      (error: unknown) => ({ error: error as Error & { code?: string } }),
    )
    expect(transport.stats().total).toMatchObject({ dials: 2, dialing: 1 })
    // The conn it waits for reaches its idle deadline in this turn, and closes: at the turn's end the request waits for the raced dial.
    clock.advance(1_000)
    await nextTurns()
    expect(transport.stats().total).toMatchObject({ dials: 2, dialing: 1, waiting: 1, active: 0, idle: 0 })
    gate.resolve()
    const outcome = await settled
    if (dialOk) {
      expect(outcome).toEqual({ body: String(sockets[1]!.localPort) })
      expect(sockets[1]!.localPort).not.toBe(Number(first))
      expect(transport.stats().total).toMatchObject({ dials: 2, requests: 2, active: 0, idle: 1, waiting: 0, dialing: 0 })
    } else {
      expect('error' in outcome && outcome.error).toMatchObject({ code: 'RT_CONNECT_REFUSED' })
      expect(sockets).toHaveLength(1)
      // No waiter, no conn: the pool left the map, its counts in the totals.
      expect(transport.stats()).toMatchObject({ hosts: {}, total: { dials: 2, requests: 1, active: 0, idle: 0, waiting: 0, dialing: 0 } })
      // The next request dials anew.
      expect(await send(transport, `${server.origin}/third`)).not.toBe(first)
    }
    await transport.close()
    await server.closedCount(server.connections)
    expect(server.open.size).toBe(0)
  })

  it('a request that claimed the spare raced dial, whose conn an earlier waiter took, gets a dial of its own (it does not wait on the earlier one’s dial)', async () => {
    const hold = deferred()
    const server = f.serve(await startHoldServer(hold.promise))
    // The raced dial (2nd) and the earlier waiter's own dial (3rd) wait for the test; the 3rd then fails.
    const { dial, raced, third } = gatedDials(server, true)
    const transport = f.use(new Transport({ dial }))
    await send(transport, `${server.origin}/first`)
    // Sent as the first ends: a /hold waits for the first conn, a dial races that wait; in the same turn a second /hold finds no conn and dials its own.
    const held = [send(transport, `${server.origin}/hold`), send(transport, `${server.origin}/hold`)]
    await nextTurns()
    // The first /hold took the first conn: the raced dial is spare, and `late` waits for it rather than dial.
    const late = send(transport, `${server.origin}/late`)
    expect(transport.stats().total).toMatchObject({ dials: 3, dialing: 2, waiting: 2, active: 1 })
    // The raced dial's conn goes to the first waiter (the second /hold, held by the server): `late` dials.
    raced.resolve()
    expect(await late).toMatch(/^\d+$/)
    third.resolve()
    while (transport.stats().total.dialing > 0) await nextTurns()
    expect(transport.stats().total).toMatchObject({ dials: 4, dialing: 0, waiting: 0, active: 2, idle: 1 })
    hold.resolve()
    expect(await Promise.all(held)).toEqual(['held', 'held'])
  })

  it('a raced dial that fails fails no request: the wait serves it, the trace hears the failed connect', async () => {
    const server = f.serve(await startPortServer())
    let dials = 0
    const dial = (): Socket => {
      dials++
      // The second dial (the raced one) goes to a port nobody listens on.
      return connect(dials === 2 ? 1 : server.port, '127.0.0.1')
    }
    const transport = f.use(new Transport({ dial }))
    const first = await send(transport, `${server.origin}/first`)
    const events: string[] = []
    const trace: ClientTrace = {
      connectDone: (_network, _address, error) => events.push(error === undefined ? 'connectDone' : `connectDone ${(error as { code?: string }).code}`),
      gotConn: (info) => events.push(`gotConn reused=${info.reused}`),
    }
    expect(await send(transport, `${server.origin}/second`, trace)).toBe(first)
    // The dial outlives the request: wait for it to fail.
    while (transport.stats().total.dialing > 0) await nextTurns()
    expect(events.sort()).toEqual(['connectDone RT_CONNECT_REFUSED', 'gotConn reused=true'])
    expect(server.connections).toBe(1)
    // The failed dial is counted, and gone: the one conn is idle.
    expect(transport.stats().total).toMatchObject({ dials: 2, active: 0, idle: 1, dialing: 0, requests: 2 })
  })

  it('close() during a raced dial rejects the waiting request and leaves no conn or socket', async () => {
    const server = f.serve(await startPortServer())
    const transport = f.use(new Transport())
    await send(transport, `${server.origin}/first`)
    const pending = send(transport, `${server.origin}/second`)
    expect(transport.stats().total.dialing).toBe(1)
    const closed = transport.close()
    await expect(pending).rejects.toMatchObject({ code: 'RT_TRANSPORT_CLOSED' })
    await closed
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0, dialing: 0 })
    // The server sees every connection of it close (the first conn's and the race dial's, if it got that far): none is left open.
    await server.closedCount(server.connections)
    expect(server.open.size).toBe(0)
  })
})

describe('Transport raceDial: the spare dial at maxConnsPerHost', () => {
  it('a request at the limit queues (announced, with its maxWaitTime) rather than wait for the spare raced dial', async () => {
    const hold = deferred()
    const server = f.serve(await startHoldServer(hold.promise))
    const gate = deferred()
    let dials = 0
    const dial = async (): Promise<Socket> => {
      // The second dial (the raced one) waits for the test.
      if (++dials === 2) await gate.promise
      return connect(server.port, '127.0.0.1')
    }
    const clock = new ManualClock()
    const transport = f.use(new Transport({ dial, maxConnsPerHost: 2, maxWaitTime: 100, clock }))
    await viaRoundTrip(transport, `${server.origin}/first`)
    // Sent as the first ends: it waits for the first conn, released in this turn, and a dial races that wait; the wait wins, the dial is spare.
    const held = transport.roundTrip(new Request(`${server.origin}/hold`))
    await nextTurns()
    expect(transport.stats().total).toMatchObject({ active: 1, dialing: 1, dials: 2 })
    const queued: unknown[] = []
    const onQueued = (message: unknown): void => void queued.push(message)
    subscribe('roundtrip:pool:queued', onQueued)
    try {
      // Two conns counted (one busy, one dialing): at the limit, the third request queues.
      const third = rejection(transport.roundTrip(new Request(`${server.origin}/third`)))
      expect(queued).toHaveLength(1)
      clock.advance(100)
      expect(await third).toMatchObject({ code: 'RT_POOL_EXHAUSTED' })
    } finally {
      unsubscribe('roundtrip:pool:queued', onQueued)
      gate.resolve()
      hold.resolve()
    }
    expect(await (await held).text()).toBe('held')
  })

  it('a request that claimed the spare raced dial, whose conn an earlier waiter took, waits at the limit as any request there (announced, with its maxWaitTime)', async () => {
    const hold = deferred()
    const server = f.serve(await startHoldServer(hold.promise))
    // The raced dial (2nd) and the earlier waiter's own dial (3rd) wait for the test.
    const { dial, raced, third } = gatedDials(server, false)
    const clock = new ManualClock()
    const transport = f.use(new Transport({ dial, maxConnsPerHost: 4, maxWaitTime: 100, clock }))
    await viaRoundTrip(transport, `${server.origin}/first`)
    // Sent as the first ends: a /hold waits for the first conn, a dial races that wait; in the same turn a second /hold finds no conn and dials its own.
    const sendHold = (): Promise<string> => viaRoundTrip(transport, `${server.origin}/hold`).catch((error: Error) => error.message)
    const held = [sendHold(), sendHold()]
    await nextTurns()
    const queued: unknown[] = []
    const onQueued = (message: unknown): void => void queued.push((message as { request?: Request }).request)
    subscribe('roundtrip:pool:queued', onQueued)
    try {
      // The first /hold took the first conn: the raced dial is spare, and `late`, below the limit, claims it rather than dial.
      const lateRequest = new Request(`${server.origin}/late`)
      const late = rejection(transport.roundTrip(lateRequest))
      expect(transport.stats().total).toMatchObject({ dials: 3, dialing: 2, waiting: 2, active: 1 })
      // A third /hold takes the last slot (its own dial).
      held.push(sendHold())
      expect(queued).toEqual([])
      // The raced dial's conn goes to the first waiter (the second /hold): four conns counted, `late` waits at the limit.
      raced.resolve()
      while (transport.stats().total.active < 3) await nextTurns()
      expect(queued).toEqual([lateRequest])
      clock.advance(100)
      // Had `late` no deadline, it would take the third dial's conn (and resolve).
      third.resolve()
      expect(await late).toMatchObject({ code: 'RT_POOL_EXHAUSTED' })
    } finally {
      unsubscribe('roundtrip:pool:queued', onQueued)
      raced.resolve()
      third.resolve()
      hold.resolve()
    }
    expect(await Promise.all(held)).toEqual(['held', 'held', 'held'])
  })
})
