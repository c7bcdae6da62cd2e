import { compose, getContext, roundTripper, withContext, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/stream') {
      // Headers and a first chunk, then nothing: the body stays open and holds its connection.
      res.write(Buffer.alloc(1024, 'a'))
      return
    }
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

function setUp(options: LeakTrackerOptions, base?: RoundTripper): { client: RoundTripper; leaks: Leak[]; leak: Promise<Leak> } {
  const leaks: Leak[] = []
  let resolve!: (leak: Leak) => void
  const leak = new Promise<Leak>((r) => (resolve = r))
  tracker = leakTracker({
    ...options,
    onLeak(l) {
      leaks.push(l)
      resolve(l)
    },
  })
  transport = new Transport({ maxConnsPerHost: 1 })
  return { client: compose(base ?? transport, tracker), leaks, leak }
}

/** The request whose body the tests leave unread on purpose. */
function holdTheConnection(client: RoundTripper): Promise<Response> {
  return client.roundTrip(new Request(`${server.origin}/stream`)) // <- the held body
}

describe('breakDeadlocks', () => {
  it('frees a maxConnsPerHost: 1 host for a waiting request: the unread body is cancelled with a coded error naming where it was requested', async () => {
    const { client, leak } = setUp({ breakDeadlocks: 50 })
    const held = await holdTheConnection(client)
    const next = client.roundTrip(new Request(`${server.origin}/next`))
    expect(await (await next).text()).toBe('next')
    const report = await leak
    expect(report).toMatchObject({ kind: 'blocking', reclaimed: true, held: 'connection', waiters: 1, url: `${server.origin}/stream` })
    expect(report.requestedAt).toMatch(/breaker\.test\.ts:\d+:\d+$/)
    expect(report.ageMs).toBeGreaterThanOrEqual(50)
    const error = await held.text().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error?.code).toBe('RT_BODY_RECLAIMED')
    expect(error?.message).toMatch(/requested at .*breaker\.test\.ts:\d+:\d+\), unread for \d+ ms while GET .*\/next waited for a connection/)
    expect(server.connections).toBe(2)
    expect(tracker!.summary()).toMatchObject({ reclaimed: 1, leaked: { connection: 1 }, open: 0 })
  })

  it('leaves alone a body someone is reading: the waiting request keeps waiting', async () => {
    const { client, leaks } = setUp({ breakDeadlocks: 1 })
    const held = await holdTheConnection(client)
    const reader = held.body!.getReader()
    await reader.read()
    const abort = new AbortController()
    const next = client.roundTrip(new Request(`${server.origin}/next`, { signal: abort.signal }))
    // Let the breaker's time pass several times over: an immediate on a timer is not enough, so wait for a later macrotask.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(leaks).toEqual([])
    expect(transport!.stats().total).toMatchObject({ active: 1, waiting: 1 })
    abort.abort(new Error('gave up'))
    await expect(next).rejects.toThrow('gave up')
    await reader.cancel()
  })

  it('off by default: the request waits, as without the tracker', async () => {
    const { client, leaks } = setUp({})
    const held = await holdTheConnection(client)
    const abort = new AbortController()
    const next = client.roundTrip(new Request(`${server.origin}/next`, { signal: abort.signal }))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(leaks).toEqual([])
    expect(transport!.stats().total).toMatchObject({ waiting: 1 })
    abort.abort(new Error('gave up'))
    await expect(next).rejects.toThrow('gave up')
    await held.body!.cancel()
  })

  it('over a RoundTripper without connection facts it does nothing', async () => {
    const base = roundTripper(async () => new Response(new ReadableStream({ pull() {} })))
    const { client, leaks } = setUp({ breakDeadlocks: 1 }, base)
    const held = await holdTheConnection(client)
    await new Promise((resolve) => setTimeout(resolve, 20))
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
    const original = (getContext(request) as { trace?: unknown }).trace
    const response = await client.roundTrip(request)
    expect(await response.text()).toBe('next')
    expect(calls).toEqual([`getConn ${server.origin}`, 'gotConn', 'wroteRequest', 'putIdleConn'])
    // Sent again: the caller's hooks run once each, not twice.
    calls.length = 0
    expect(await (await client.roundTrip(request)).text()).toBe('next')
    expect(calls).toEqual([`getConn ${server.origin}`, 'gotConn', 'wroteRequest', 'putIdleConn'])
    expect(original).toBeDefined()
  })

  it('rejects a breakDeadlocks that is not a boolean or a number of ms', () => {
    expect(() => leakTracker({ breakDeadlocks: -1 })).toThrow(RangeError)
    expect(() => leakTracker({ breakDeadlocks: 'soon' as never })).toThrow(RangeError)
  })
})
