import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { gzipSync } from 'node:zlib'
import { callHooks, compose, deriveRequest, roundTripper, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { UNINDEX_CALLS_AT } from './calls.js'
import { nextMessage, startServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'

// 2 MiB of zeros is 2 KiB gzip-encoded: it arrives whole, and inflates far past a body's queue.
const zeros = gzipSync(Buffer.alloc(2 * 1024 * 1024))

/** Responses to `/gate/<name>` wait until the test calls `open(name)`. */
const gates = new Map<string, () => void>()
const arrived = new Map<string, () => void>()
/** Resolves when the server has the request for `/gate/<name>`. */
const reached = (name: string): Promise<void> => new Promise((resolve) => arrived.set(name, resolve))
const open = (name: string): void => gates.get(name)!()

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url!.startsWith('/gate/')) {
      const name = req.url!.slice('/gate/'.length)
      gates.set(name, () => res.end(name))
      arrived.get(name)?.()
      return
    }
    if (req.url === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zeros.length }).end(zeros)
    if (req.url === '/stream') return void res.write(Buffer.alloc(1024, 'a'))
    if (req.url === '/close') return void res.writeHead(200, { connection: 'close' }).end('bye')
    res.end('next')
  })
})
afterAll(() => server.close())

let transport: Transport | undefined
let tracker: LeakTracker | undefined
afterEach(async () => {
  tracker?.dispose()
  tracker = undefined
  transport?.destroy()
  await transport?.close()
  transport = undefined
})

/** A tracker over a Transport, with a layer under the tracker that writes down how many traces each call carries. */
function setUp(options: LeakTrackerOptions = {}, base?: (transport: Transport) => RoundTripper, maxConnsPerHost = 0): { client: RoundTripper; traces: number[] } {
  transport = new Transport({ maxConnsPerHost })
  tracker = leakTracker({ captureStack: false, onLeak: () => {}, ...options })
  const traces: number[] = []
  const below = base?.(transport) ?? transport
  const spy = (next: RoundTripper): RoundTripper =>
    roundTripper((request) => {
      traces.push(callHooks(request, 'trace').length)
      return next.roundTrip(request)
    })
  return { client: compose(below, tracker, spy), traces }
}

const get = (client: RoundTripper, path: string): Promise<Response> => client.roundTrip(new Request(`${server.origin}${path}`))

describe('leakTracker over bodies that declare what they hold (core bodyHold)', () => {
  it('attaches no trace to a call once the Transport’s bodies declare what they hold', async () => {
    const { client, traces } = setUp()
    for (let i = 0; i < 3; i++) expect(await (await get(client, '/')).text()).toBe('next')
    // The first call cannot know yet: it carries the trace.
    expect(traces).toEqual([1, 0, 0])
  })

  it('with breakDeadlocks, attaches no trace either: the Transport says when a waiting request got its connection (roundtrip:pool:dequeued)', async () => {
    const { client, traces } = setUp({ breakDeadlocks: 1_000 })
    for (let i = 0; i < 3; i++) expect(await (await get(client, '/')).text()).toBe('next')
    expect(traces).toEqual([1, 0, 0])
  })

  it('with breakDeadlocks and no trace, frees a maxConnsPerHost: 1 host for a waiting request', async () => {
    const leaks: Leak[] = []
    const { client, traces } = setUp({ breakDeadlocks: 30, onLeak: (leak) => leaks.push(leak) }, undefined, 1)
    await (await get(client, '/')).text()
    const held = await get(client, '/stream')
    expect(await (await get(client, '/')).text()).toBe('next')
    expect(traces).toEqual([1, 0, 0])
    expect(leaks).toMatchObject([{ kind: 'blocking', reclaimed: true, held: 'connection', waiters: 1, url: `${server.origin}/stream` }])
    await expect(held.text()).rejects.toMatchObject({ code: 'RT_BODY_RECLAIMED' })
  })

  it('with breakDeadlocks, frees a maxConnsPerHost: 1 host for a waiting request that a layer below the tracker derived (deriveRequest: the queued message names the derived request)', async () => {
    const leaks: Leak[] = []
    const headers = (transport: Transport): RoundTripper => roundTripper((request) => transport.roundTrip(deriveRequest(request, { headers: { 'x-a': '1' } })))
    const { client } = setUp({ breakDeadlocks: 30, onLeak: (leak) => leaks.push(leak) }, headers, 1)
    await (await get(client, '/')).text()
    const held = await get(client, '/stream')
    const queued = nextMessage('roundtrip:pool:queued')
    const next = get(client, '/')
    await queued
    expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection', waiters: 1 }])
    expect(await (await next).text()).toBe('next')
    expect(leaks).toMatchObject([{ kind: 'blocking', reclaimed: true, waiters: 1, url: `${server.origin}/stream` }])
    await expect(held.text()).rejects.toMatchObject({ code: 'RT_BODY_RECLAIMED' })
  })

  it('with breakDeadlocks, a request that waited and got its connection no longer counts as waiting: a body delivered later is left alone', async () => {
    const leaks: Leak[] = []
    const { client, traces } = setUp({ breakDeadlocks: 1, onLeak: (leak) => leaks.push(leak) }, undefined, 2)
    await (await get(client, '/')).text()
    // Both connections busy with requests the server holds; a third waits.
    const first = reached('a')
    const second = reached('b')
    const a = get(client, '/gate/a')
    const b = get(client, '/gate/b')
    await Promise.all([first, second])
    const queued = nextMessage('roundtrip:pool:queued')
    const c = get(client, '/gate/c')
    await queued
    // The first connection comes back and goes to the waiting request.
    const third = reached('c')
    open('a')
    expect(await (await a).text()).toBe('a')
    await third
    // The second comes back; an unread body takes it.
    open('b')
    expect(await (await b).text()).toBe('b')
    const held = await get(client, '/stream')
    expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection' }])
    // Had the request that got its connection still counted as waiting, the breaker would cancel that body 1 ms after it arrived.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(leaks).toEqual([])
    expect(tracker!.summary()).toMatchObject({ reclaimed: 0, open: 1, openHoldingConnection: 1 })
    expect(traces).toEqual([1, 0, 0, 0, 0])
    open('c')
    expect(await (await c).text()).toBe('c')
    await held.body!.cancel()
  })

  it('with breakDeadlocks over a RoundTripper whose bodies declare nothing, every call carries the trace, as before', async () => {
    const { client, traces } = setUp({ breakDeadlocks: 1_000 }, () => roundTripper((request) => fetch(request)))
    for (let i = 0; i < 2; i++) expect(await (await get(client, '/')).text()).toBe('next')
    expect(traces).toEqual([1, 1])
  })

  it('an unread gzip body whose connection went back to the pool holds memory, not a connection, though its decoder has not finished', async () => {
    const { client, traces } = setUp()
    await (await get(client, '/')).text()
    // The conn is released when the last encoded byte arrives (the Transport says so on the body): it goes idle.
    const idle = nextMessage('roundtrip:conn:idle')
    const response = await get(client, '/gzip')
    expect(traces).toEqual([1, 0])
    await idle
    expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/gzip`, held: 'memory', poolKey: server.origin }])
    expect(tracker!.summary()).toMatchObject({ open: 1, openHoldingConnection: 0 })
    expect((await response.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024)
    expect(tracker!.summary()).toMatchObject({ open: 0 })
  })

  it('an unread body still streaming pins its connection until it is cancelled, and the hold time stops then', async () => {
    const { client, traces } = setUp()
    await (await get(client, '/')).text()
    const response = await get(client, '/stream')
    expect(traces).toEqual([1, 0])
    expect(tracker!.outstanding()).toMatchObject([{ held: 'connection', poolKey: server.origin }])
    expect(tracker!.summary()).toMatchObject({ open: 1, openHoldingConnection: 1 })
    await response.body!.cancel()
    expect(tracker!.summary()).toMatchObject({ open: 0, openHoldingConnection: 0 })
  })

  it('a response that declares nothing, after ones that did, is of unknown severity, and the next call carries the trace again', async () => {
    const { client, traces } = setUp({}, (transport) =>
      roundTripper((request) => (request.url.endsWith('/plain') ? Promise.resolve(new Response(new ReadableStream({ pull() {} }))) : transport.roundTrip(request))),
    )
    await (await get(client, '/')).text()
    const plain = await get(client, '/plain')
    expect(tracker!.outstanding()).toMatchObject([{ held: 'unknown', poolKey: undefined }])
    const held = await get(client, '/stream')
    expect(traces).toEqual([1, 0, 1])
    expect(tracker!.outstanding()).toMatchObject([{ held: 'unknown' }, { held: 'connection', poolKey: server.origin }])
    await plain.body!.cancel()
    await held.body!.cancel()
  })

  it('counts as a waiter a request of its own that queues for the connection an untraced body pins (the queued message names the request)', async () => {
    const { client, traces } = setUp({}, undefined, 1)
    await (await get(client, '/')).text()
    const held = await get(client, '/stream')
    const queued = nextMessage('roundtrip:pool:queued')
    const next = get(client, '/')
    await queued
    expect(traces).toEqual([1, 0, 0])
    expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection', poolKey: server.origin, waiters: 1 }])
    await held.body!.cancel()
    expect(await (await next).text()).toBe('next')
  })

  /**
   * Queues 40 requests behind a body being read (not reclaimed), checks they
   * are its 40 waiters, ends the body, and returns how many of them the
   * tracker had looked up in a Map (its index by request: the only Map keyed
   * by Request) by the time their `dequeued` message was handled; then, the
   * calls all settled, checks a request that queues alone is looked for in
   * the list, not the index.
   */
  async function queueForty(options: LeakTrackerOptions): Promise<number> {
    const { client } = setUp(options, undefined, 1)
    await (await get(client, '/')).text()
    const reader = (await get(client, '/stream')).body!.getReader()
    let queued = 0
    let all!: () => void
    const allQueued = new Promise<void>((resolve) => (all = resolve))
    const onQueued = (): void => void (++queued === 40 && all())
    const lookups = vi.spyOn(Map.prototype, 'get')
    const looked = (request: unknown): boolean => lookups.mock.calls.some(([key]) => key === request)
    let viaIndex = 0
    // Subscribed after the tracker: called after it, before the call settles.
    const onDequeued = (message: unknown): void => void (looked((message as { request: Request }).request) && viaIndex++)
    subscribe('roundtrip:pool:queued', onQueued)
    subscribe('roundtrip:pool:dequeued', onDequeued)
    try {
      const waiting = Array.from({ length: 40 }, () => get(client, '/'))
      await allQueued
      expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection', waiters: 40 }])
      lookups.mockClear()
      await reader.cancel()
      for (const response of await Promise.all(waiting)) expect(await response.text()).toBe('next')
      const counted = viaIndex
      const held = (await get(client, '/stream')).body!.getReader()
      const queuedAgain = nextMessage('roundtrip:pool:queued')
      const late = new Request(`${server.origin}/`)
      lookups.mockClear()
      const next = client.roundTrip(late)
      await queuedAgain
      expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, waiters: 1 }])
      expect(looked(late)).toBe(false)
      await held.cancel()
      expect(await (await next).text()).toBe('next')
      expect(tracker!.summary()).toMatchObject({ reclaimed: 0, open: 0 })
      return counted
    } finally {
      lookups.mockRestore()
      unsubscribe('roundtrip:pool:queued', onQueued)
      unsubscribe('roundtrip:pool:dequeued', onDequeued)
    }
  }

  it('finds each waiting request among many calls in flight through its index by request: 40 requests queued behind an unread body are its 40 waiters, their dequeued messages go through the index, and it is dropped once the calls settled', async () => {
    // While more than UNINDEX_CALLS_AT calls were in flight, the index found the request that left the queue.
    expect(await queueForty({ breakDeadlocks: 30 })).toBeGreaterThanOrEqual(40 - UNINDEX_CALLS_AT)
  })

  it('without breakDeadlocks, a dequeued message costs no lookup (only the breaker counts waiting requests)', async () => {
    expect(await queueForty({})).toBe(0)
  })

  it('an unread body whose connection was closed after it arrived whole (connection: close) holds memory, not a connection', async () => {
    const { client } = setUp()
    await (await get(client, '/')).text()
    const closed = nextMessage('roundtrip:conn:closed')
    const response = await get(client, '/close')
    await closed
    expect(tracker!.outstanding()).toMatchObject([{ url: `${server.origin}/close`, held: 'memory', poolKey: server.origin }])
    expect(await response.text()).toBe('bye')
  })
})
