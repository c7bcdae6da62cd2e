import { channel } from 'node:diagnostics_channel'
import { compose, getContext, roundTripper, withContext, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dropResponse } from '../test/drop-response.js'
import { collectingTracker } from '../test/leaks.js'
import { collectGarbage, nextMessage, startStreamServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'

let server: TestServer
beforeAll(async () => {
  server = await startStreamServer()
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

/**
 * A one-connection Transport (or `base`) under a tracker; `leak` resolves with the first leak reported.
 * A request waits at most `maxWaitTime` ms for the connection (0: as long as it takes).
 */
function setUp(options: LeakTrackerOptions, base?: RoundTripper, maxWaitTime = 0): { client: RoundTripper; leaks: Leak[]; leak: Promise<Leak> } {
  transport = new Transport({ maxConnsPerHost: 1, maxWaitTime })
  const made = collectingTracker(options)
  tracker = made.tracker
  return { client: compose(base ?? transport, tracker), leaks: made.leaks, leak: made.leak }
}

describe('leakTracker over the Transport', () => {
  it('reclaim frees the connection of an aged body, so a maxConnsPerHost: 1 Transport serves the next request', async () => {
    const { client, leak } = setUp({ maxAge: 1, reclaim: true })
    const held = await client.roundTrip(new Request(`${server.origin}/stream`))
    const next = client.roundTrip(new Request(`${server.origin}/next`))
    expect(await leak).toMatchObject({ kind: 'aged', url: `${server.origin}/stream`, reclaimed: true })
    const response = await next
    expect(await response.text()).toBe('next')
    await expect(held.text()).rejects.toMatchObject({ code: 'RT_BODY_RECLAIMED' })
    expect(server.connections).toBe(2)
  })

  it('without reclaim, the aged body keeps holding the only connection and the next request waits', async () => {
    const { client, leak } = setUp({ maxAge: 1 })
    const held = await client.roundTrip(new Request(`${server.origin}/stream`))
    const abort = new AbortController()
    const next = client.roundTrip(new Request(`${server.origin}/next`, { signal: abort.signal }))
    expect(await leak).toMatchObject({ kind: 'aged', reclaimed: false })
    expect(transport!.stats().total).toMatchObject({ active: 1, waiting: 1 })
    abort.abort(new Error('gave up'))
    await expect(next).rejects.toThrow('gave up')
    await held.body!.cancel()
  })

  it('reports a response dropped unread and garbage-collected, whose connection the Transport then frees', async () => {
    const { client, leaks } = setUp({})
    await dropResponse(client, `${server.origin}/stream`)
    await collectGarbage(() => leaks.length > 0)
    expect(leaks).toMatchObject([{ kind: 'collected', url: `${server.origin}/stream`, stack: expect.stringContaining('drop-response.ts') }])
    const response = await client.roundTrip(new Request(`${server.origin}/next`))
    expect(await response.text()).toBe('next')
  })
})

describe.each([
  ['the Transport', () => (transport = new Transport())],
  ['Node’s fetch', () => roundTripper((request) => fetch(request))],
])('responses without a body over %s', (_name, makeBase) => {
  it.each([
    ['HEAD', '/'],
    ['GET', '/204'],
    ['GET', '/304'],
  ])('never reports %s %s', async (method, path) => {
    const leaks: Leak[] = []
    tracker = leakTracker({ onLeak: (l) => leaks.push(l) })
    const client = compose(makeBase(), tracker)
    let collected = false
    const registry = new FinalizationRegistry(() => (collected = true))
    await (async () => {
      const response = await client.roundTrip(new Request(server.origin + path, { method }))
      expect(response.body).toBe(null)
      expect(tracker.outstanding()).toEqual([])
      registry.register(response, path)
    })()
    await collectGarbage(() => collected)
    expect(collected).toBe(true)
    expect(leaks).toEqual([])
  })
})

/** The request whose body the tests leave unread on purpose. */
function holdTheConnection(client: RoundTripper): Promise<Response> {
  return client.roundTrip(new Request(`${server.origin}/stream`)) // <- the held body
}

describe('breakDeadlocks', () => {
  it('frees a maxConnsPerHost: 1 host for a waiting request: the unread body is cancelled with a coded error naming where it was requested', async () => {
    const { client, leak } = setUp({ breakDeadlocks: 50 })
    const connectionsBefore = server.connections
    const held = await holdTheConnection(client)
    const next = client.roundTrip(new Request(`${server.origin}/next`))
    expect(await (await next).text()).toBe('next')
    const report = await leak
    expect(report).toMatchObject({ kind: 'blocking', reclaimed: true, held: 'connection', waiters: 1, url: `${server.origin}/stream` })
    expect(report.requestedAt).toMatch(/transport\.test\.ts:\d+:\d+$/)
    expect(report.ageMs).toBeGreaterThanOrEqual(50)
    const error = await held.text().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error?.code).toBe('RT_BODY_RECLAIMED')
    expect(error?.message).toMatch(/requested at .*transport\.test\.ts:\d+:\d+\), unread for \d+ ms while GET .*\/next waited for a connection/)
    expect(server.connections - connectionsBefore).toBe(2)
    expect(tracker!.summary()).toMatchObject({ reclaimed: 1, leaked: { connection: 1 }, open: 0 })
  })

  it('leaves alone a body someone is reading: the waiting request waits until the pool gives up', async () => {
    // The breaker may act 1 ms after the request queues; the pool gives up at 60 ms.
    const { client, leaks } = setUp({ breakDeadlocks: 1 }, undefined, 60)
    const held = await holdTheConnection(client)
    const reader = held.body!.getReader()
    await reader.read()
    const next = client.roundTrip(new Request(`${server.origin}/next`))
    await expect(next).rejects.toMatchObject({ code: 'RT_POOL_EXHAUSTED' })
    expect(leaks).toEqual([])
    expect(tracker!.summary()).toMatchObject({ reclaimed: 0, open: 1, openHoldingConnection: 1 })
    await reader.cancel()
  })

  it('off by default: the request waits until the pool gives up, as without the tracker', async () => {
    const { client, leaks } = setUp({}, undefined, 60)
    const held = await holdTheConnection(client)
    const next = client.roundTrip(new Request(`${server.origin}/next`))
    await expect(next).rejects.toMatchObject({ code: 'RT_POOL_EXHAUSTED' })
    expect(leaks).toEqual([])
    expect(tracker!.summary()).toMatchObject({ reclaimed: 0, open: 1, openHoldingConnection: 1 })
    await held.body!.cancel()
  })

  it('over a RoundTripper without connection facts it does nothing: no request is known to wait', async () => {
    const base = roundTripper(async (request) => new Response(request.url.endsWith('/stream') ? new ReadableStream({ pull() {} }) : 'next'))
    const { client, leaks } = setUp({ breakDeadlocks: 1 }, base)
    const held = await holdTheConnection(client)
    expect(await (await client.roundTrip(new Request(`${server.origin}/next`))).text()).toBe('next')
    expect(leaks).toEqual([])
    expect(tracker!.outstanding()).toMatchObject([{ held: 'unknown', poolKey: undefined }])
    await held.body!.cancel()
  })

  it('keeps calling the trace hooks the caller attached to the request', async () => {
    const { client } = setUp({ breakDeadlocks: 1 })
    const calls: string[] = []
    const request = withContext(new Request(`${server.origin}/next`), {
      trace: { getConn: (key: string) => calls.push(`getConn ${key}`), gotConn: () => calls.push('gotConn'), putIdleConn: () => calls.push('putIdleConn'), wroteRequest: () => calls.push('wroteRequest') },
    } as never)
    const context = getContext(request)
    const response = await client.roundTrip(request)
    expect(await response.text()).toBe('next')
    expect(calls).toEqual([`getConn ${server.origin}`, 'gotConn', 'wroteRequest', 'putIdleConn'])
    // The caller's request is left as it was: its context is the one it made.
    expect(getContext(request)).toBe(context)
    // Sent again: the caller's hooks run once each, not twice.
    calls.length = 0
    expect(await (await client.roundTrip(request)).text()).toBe('next')
    expect(calls).toEqual([`getConn ${server.origin}`, 'gotConn', 'wroteRequest', 'putIdleConn'])
  })

  it('attaches nothing to the request it was given: a request without a context still has none', async () => {
    const { client } = setUp({ breakDeadlocks: 1 })
    const request = new Request(`${server.origin}/next`)
    const response = await client.roundTrip(request)
    expect(getContext(request)).toEqual({})
    expect(await response.text()).toBe('next')
    expect(tracker!.summary()).toMatchObject({ open: 0 })
  })

  it("calls a class-based caller trace's hooks on the caller's own object (its private fields work)", async () => {
    class CallerTrace {
      readonly #calls: string[] = []
      get calls(): readonly string[] {
        return this.#calls
      }
      getConn(): void {
        this.#calls.push('getConn')
      }
      wroteRequest(): void {
        this.#calls.push('wroteRequest')
      }
    }
    const { client } = setUp({})
    const trace = new CallerTrace()
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const request = withContext(new Request(`${server.origin}/next`), { trace } as never)
      expect(await (await client.roundTrip(request)).text()).toBe('next')
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    expect(trace.calls).toEqual(['getConn', 'wroteRequest'])
    expect(warnings).toEqual([])
  })

  it('rejects a breakDeadlocks that is not a boolean or a number of ms', () => {
    expect(() => leakTracker({ breakDeadlocks: -1 })).toThrow(RangeError)
    expect(() => leakTracker({ breakDeadlocks: 'soon' as never })).toThrow(RangeError)
  })
})

describe('queued requests', () => {
  const queued = channel('roundtrip:pool:queued')

  it('a tracker dropped without dispose() is garbage-collected, and stops listening for queued requests', async () => {
    expect(queued.hasSubscribers).toBe(false)
    let collected = false
    const registry = new FinalizationRegistry(() => (collected = true))
    ;(() => {
      const dropped = leakTracker()
      registry.register(dropped, 'tracker')
      expect(queued.hasSubscribers).toBe(true)
    })()
    await collectGarbage(() => collected && !queued.hasSubscribers)
    expect(collected).toBe(true)
    expect(queued.hasSubscribers).toBe(false)
  })

  it('stops listening when the last tracker is disposed', () => {
    const first = leakTracker()
    const second = leakTracker()
    first.dispose()
    expect(queued.hasSubscribers).toBe(true)
    second.dispose()
    second.dispose()
    expect(queued.hasSubscribers).toBe(false)
  })

  it('does not count as its waiter a request of another client that queues right after one of its own got an idle connection', async () => {
    transport = new Transport({ maxConnsPerHost: 2 })
    tracker = leakTracker()
    const client = compose(transport, tracker)
    // One connection held by an unread body, the other idle.
    const held = await holdTheConnection(client)
    await (await client.roundTrip(new Request(`${server.origin}/next`))).text()
    await new Promise((resolve) => setImmediate(resolve))
    const waited = nextMessage('roundtrip:pool:queued')
    // In one go: ours takes the idle connection, then a request sent past the tracker waits.
    const ours = client.roundTrip(new Request(`${server.origin}/next`))
    const theirs = transport.roundTrip(new Request(`${server.origin}/next`))
    await waited
    expect(tracker.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection', waiters: 0 }])
    expect(await (await ours).text()).toBe('next')
    expect(await (await theirs).text()).toBe('next')
    await held.body!.cancel()
  })

  it('two trackers, one inside the other, each know the body held the connection a request waited for', async () => {
    transport = new Transport({ maxConnsPerHost: 1 })
    const outer = leakTracker()
    const inner = leakTracker()
    tracker = outer
    try {
      const client = compose(transport, outer, inner)
      const held = await holdTheConnection(client)
      const waited = nextMessage('roundtrip:pool:queued')
      const next = client.roundTrip(new Request(`${server.origin}/next`))
      await waited
      for (const t of [outer, inner]) {
        expect(t.outstanding()).toMatchObject([{ url: `${server.origin}/stream`, held: 'connection', poolKey: server.origin, waiters: 1 }])
      }
      await held.body!.cancel()
      expect(await (await next).text()).toBe('next')
    } finally {
      inner.dispose()
    }
  })
})
