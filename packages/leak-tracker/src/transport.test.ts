import { compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dropResponse } from '../test/drop-response.js'
import { collectGarbage, startServer, type TestServer } from '../test/server.js'
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
    if (req.url === '/204') res.statusCode = 204
    if (req.url === '/304') res.statusCode = 304
    res.end(req.method === 'HEAD' || res.statusCode !== 200 ? undefined : 'next')
  })
})
afterAll(() => server.close())

let transport: Transport | undefined
let tracker: LeakTracker | undefined
afterEach(async () => {
  tracker?.dispose()
  transport?.destroy()
  await transport?.close()
  transport = undefined
})

/** A one-connection Transport under a tracker; `leak()` resolves with the first leak reported. */
function setUp(options: LeakTrackerOptions): { client: RoundTripper; leaks: Leak[]; leak: Promise<Leak> } {
  transport = new Transport({ maxConnsPerHost: 1 })
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
  return { client: compose(transport, tracker), leaks, leak }
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
