import { readFileSync } from 'node:fs'
import { chain, compose, createBody, createResponse, isRoundTripError, kResolvesResponse, roundTripper, type RoundTripper } from '@roundtrip/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createFetch } from '@roundtrip/fetch'
import { ApiClient, dropFetched, dropResponse, readResponse } from '../test/drop-response.js'
import { collectGarbage } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import { ERR_BODY_RECLAIMED, ERR_LEAKED_BODY, LeakError, type Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'

const HELPER = new URL('../test/drop-response.ts', import.meta.url)
const lineOf = (marker: string): number => readFileSync(HELPER, 'utf8').split('\n').findIndex((line) => line.includes(marker)) + 1
const LEAKING_LINE = lineOf('<- the leaking line')

/** A test double: every request gets a 200 with a small text body. */
const double = roundTripper(async (request) => new Response(`body of ${new URL(request.url).pathname}`))

let tracker: LeakTracker | undefined
afterEach(() => tracker?.dispose())

function setUp(options: LeakTrackerOptions = {}, base: RoundTripper = double): { client: RoundTripper; leaks: Leak[] } {
  const leaks: Leak[] = []
  tracker = leakTracker({ onLeak: (leak) => leaks.push(leak), ...options })
  return { client: compose(base, tracker), leaks }
}

/** Resolves with the next leak reported to `leaks`, running the collector meanwhile. */
async function nextLeak(leaks: Leak[], count = leaks.length + 1): Promise<Leak> {
  await collectGarbage(() => leaks.length >= count)
  expect(leaks).toHaveLength(count)
  return leaks[count - 1]!
}

/** Resolves once `onLeak` has been called `count` times, without forcing collection (for maxAge). */
function leaked(options: LeakTrackerOptions, count = 1): { client: RoundTripper; leaks: Leak[]; done: Promise<void> } {
  let resolve!: () => void
  const done = new Promise<void>((r) => (resolve = r))
  const leaks: Leak[] = []
  tracker = leakTracker({
    ...options,
    onLeak: (leak) => {
      if (leaks.push(leak) === count) resolve()
    },
  })
  return { client: compose(double, tracker), leaks, done }
}

describe('leakTracker: garbage-collected bodies', () => {
  it('reports a response a helper dropped unread, with a stack naming that helper’s file and line', async () => {
    const { client, leaks } = setUp()
    await dropResponse(client, 'http://a.test/dropped')
    const leak = await nextLeak(leaks)
    expect(leak).toMatchObject({ kind: 'collected', method: 'GET', url: 'http://a.test/dropped', status: 200, reclaimed: false })
    const first = leak.stack!.split('\n')[0]!
    expect(first).toContain('dropResponse')
    expect(first).toContain(`drop-response.ts:${LEAKING_LINE}:`)
    expect(leak.requestedAt).toMatch(new RegExp(`drop-response\\.ts:${LEAKING_LINE}:\\d+$`))
    expect(tracker!.outstanding()).toEqual([])
  })

  it('with ignore naming that helper, names the line that called the helper instead', async () => {
    const { client, leaks } = setUp({ ignore: ['drop-response.ts'] })
    await dropResponse(client, 'http://a.test/dropped') // <- the caller of the helper
    const leak = await nextLeak(leaks)
    const line = readFileSync(new URL(import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('<- the caller of the helper')) + 1
    expect(leak.requestedAt).toMatch(new RegExp(`leak-tracker\\.test\\.ts:${line}:\\d+$`))
    expect(leak.stack).not.toContain('drop-response.ts')
  })

  it('names the helper’s line through createFetch, past the fetch layer’s own frames', async () => {
    const { client, leaks } = setUp()
    await dropFetched(createFetch(client), 'http://a.test/fetched')
    const leak = await nextLeak(leaks)
    expect(leak.url).toBe('http://a.test/fetched')
    expect(leak.requestedAt).toMatch(new RegExp(`drop-response\\.ts:${lineOf('<- the leaking fetch')}:\\d+$`))
  })

  it('reports a response held only by the object whose method requested it, once that object is dropped', async () => {
    const { client, leaks } = setUp()
    expect(await new ApiClient(client).check('http://a.test/held')).toBe(true)
    const leak = await nextLeak(leaks)
    expect(leak).toMatchObject({ kind: 'collected', url: 'http://a.test/held' })
    expect(leak.stack).toContain('ApiClient.check')
  })

  it('does not report a response whose body was read, once it is garbage-collected', async () => {
    const { client, leaks } = setUp()
    let readCollected = false
    const registry = new FinalizationRegistry(() => (readCollected = true))
    await (async () => {
      const response = await client.roundTrip(new Request('http://a.test/read'))
      await response.text()
      registry.register(response, 'read')
    })()
    expect(await readResponse(client, 'http://a.test/read-too')).toBe('body of /read-too')
    // The control: a dropped one in the same collections is reported.
    await dropResponse(client, 'http://a.test/dropped')
    await collectGarbage(() => readCollected && leaks.length > 0)
    expect(readCollected).toBe(true)
    expect(leaks.map((l) => l.url)).toEqual(['http://a.test/dropped'])
  })

  it('reports a dropped response through the default onLeak: a process warning with code, what, where and the fix', async () => {
    tracker = leakTracker()
    const client = compose(double, tracker)
    let warning: (Error & { code?: string }) | undefined
    const onWarning = (w: Error): void => {
      if ((w as { code?: string }).code === ERR_LEAKED_BODY) warning = w
    }
    process.on('warning', onWarning)
    try {
      await dropResponse(client, 'http://a.test/warned?q=1')
      await collectGarbage(() => warning !== undefined)
    } finally {
      process.off('warning', onWarning)
    }
    expect(warning?.name).toBe('RoundTripLeakWarning')
    expect(warning?.message).toContain('GET http://a.test/warned?q=1 (200)')
    expect(warning?.message).toContain('garbage-collected')
    expect(warning?.message).toContain(`drop-response.ts:${LEAKING_LINE}:`)
    expect(warning?.message).toContain('response.body?.cancel()')
  })
})

describe('leakTracker: snapshots', () => {
  it('outstanding() lists each open body with method, URL, status, age, stack, and unknown severity over a RoundTripper without connection facts', async () => {
    const { client } = setUp()
    const response = await client.roundTrip(new Request('http://a.test/open', { method: 'POST', body: 'x' }))
    const open = tracker!.outstanding()
    expect(open).toEqual([
      {
        method: 'POST',
        url: 'http://a.test/open',
        status: 200,
        ageMs: expect.any(Number),
        stack: expect.stringContaining('leak-tracker.test.ts'),
        requestedAt: expect.stringMatching(/leak-tracker\.test\.ts:\d+:\d+$/),
        via: [],
        held: 'unknown',
        connectionHeldMs: 0,
        poolKey: undefined,
        waiters: 0,
        kind: 'open',
        reclaimed: false,
      },
    ])
    await response.body!.cancel()
    expect(tracker!.outstanding()).toEqual([])
  })

  it('assertNoLeaks() throws a coded error listing the leaked URL, then forgets it', async () => {
    const { client } = setUp()
    const response = await client.roundTrip(new Request('http://a.test/leaked'))
    let error: unknown
    try {
      tracker!.assertNoLeaks()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LeakError)
    expect(isRoundTripError(error, ERR_LEAKED_BODY)).toBe(true)
    expect((error as LeakError).message).toContain('GET http://a.test/leaked (200)')
    expect((error as LeakError).leaks).toMatchObject([{ kind: 'open', url: 'http://a.test/leaked' }])
    expect(() => tracker!.assertNoLeaks()).not.toThrow()
    await response.body!.cancel()
  })

  it('assertNoLeaks() also lists a body garbage-collected since the last call', async () => {
    const { client, leaks } = setUp()
    await dropResponse(client, 'http://a.test/gone')
    await nextLeak(leaks)
    expect(() => tracker!.assertNoLeaks()).toThrow(/GET http:\/\/a\.test\/gone \(200\) was garbage-collected/)
    expect(() => tracker!.assertNoLeaks()).not.toThrow()
  })
})

describe('leakTracker: responses it must not touch', () => {
  it('passes status, statusText, headers, url, redirected and the body bytes through unchanged', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255])
    const base = roundTripper(async () =>
      createResponse(bytes, { status: 203, statusText: 'Fine', headers: { 'x-a': '1' }, url: 'http://b.test/final', redirected: true }),
    )
    const { client } = setUp({}, base)
    const response = await client.roundTrip(new Request('http://a.test/'))
    expect(response).toBeInstanceOf(Response)
    expect(response.status).toBe(203)
    expect(response.statusText).toBe('Fine')
    expect([...response.headers]).toEqual([['x-a', '1']])
    expect(response.url).toBe('http://b.test/final')
    expect(response.redirected).toBe(true)
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes)
  })

  it('hands on the very response of a RoundTripper whose body createBody made: nothing wrapped or copied', async () => {
    let made: Response | undefined
    const base = roundTripper(async (request) => {
      const { body, sink } = createBody({ pull: () => sink.end() })
      made = createResponse(body, { url: request.url })
      return made
    })
    const { client } = setUp({}, base)
    const response = await client.roundTrip(new Request('http://a.test/'))
    expect(response).toBe(made)
    expect(tracker!.outstanding()).toHaveLength(1)
    expect(await response.text()).toBe('')
    expect(tracker!.outstanding()).toEqual([])
  })

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('never reports a %s response with status %i (no body)', async (method, status) => {
    const base = roundTripper(async () => new Response(null, { status }))
    const { client, leaks } = setUp({}, base)
    let collected = false
    const registry = new FinalizationRegistry(() => (collected = true))
    await (async () => {
      const response = await client.roundTrip(new Request('http://a.test/', { method }))
      expect(tracker!.outstanding()).toEqual([])
      registry.register(response, 'x')
    })()
    await collectGarbage(() => collected)
    expect(collected).toBe(true)
    expect(leaks).toEqual([])
    expect(() => tracker!.assertNoLeaks()).not.toThrow()
  })
})

describe('leakTracker in a chain', () => {
  it('declares kResolvesResponse, so chain() adds no response check at its boundary (what it resolves with is the layer below\'s, checked there)', async () => {
    tracker = leakTracker({ captureStack: false })
    const below = roundTripper(async () => createResponse('ok', {}))
    const layer = tracker(below)
    expect((layer as { [kResolvesResponse]?: unknown })[kResolvesResponse]).toBe(true)
    // Not enumerable: a user layer spread from it ({ ...next, roundTrip }) does not copy what it promises.
    expect(({ ...layer } as { [kResolvesResponse]?: unknown })[kResolvesResponse]).toBeUndefined()
    const client = compose(below, chain(tracker))
    expect(await (await client.roundTrip(new Request('http://a.test/'))).text()).toBe('ok')
  })
})
