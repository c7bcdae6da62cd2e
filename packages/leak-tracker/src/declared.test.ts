import { gzipSync } from 'node:zlib'
import { callHooks, compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { nextMessage, startServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { LeakTrackerOptions } from './options.js'

// 2 MiB of zeros is 2 KiB gzip-encoded: it arrives whole, and inflates far past a body's queue.
const zeros = gzipSync(Buffer.alloc(2 * 1024 * 1024))

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
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

  it('with breakDeadlocks, keeps the trace: the breaker must know when a waiting request got its connection', async () => {
    const { client, traces } = setUp({ breakDeadlocks: 1_000 })
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
