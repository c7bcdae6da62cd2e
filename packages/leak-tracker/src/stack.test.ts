import { fileURLToPath } from 'node:url'
import { compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { describeLeak, type Leak } from './leak.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { CaptureStack } from './stack.js'
import { isCallerFrame, libraryOf } from './stack.js'

describe('isCallerFrame', () => {
  const core = new URL('../../core/dist/compose.js', import.meta.url)
  it.each([
    ['a frame in Node’s internals', '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'],
    ['a native frame', '    at new Promise (<anonymous>)'],
    ['a sibling package of this repository, as a URL', `    at Object.roundTrip (${core.href}:1:2)`],
    ['a sibling package of this repository, as a path', `    at ${fileURLToPath(core)}:1:2`],
    ['an installed @roundtrip package', '    at f (file:///app/node_modules/@roundtrip/fetch/dist/fetch.js:10:3)'],
    ['an @roundtrip package under pnpm', '    at f (/app/node_modules/.pnpm/@roundtrip+core@1.0.0/node_modules/@roundtrip/core/dist/x.js:1:1)'],
    ['a library in node_modules', '    at Client.send (file:///app/node_modules/some-sdk/index.js:1:1)'],
  ])('rejects %s', (_what, frame) => {
    expect(isCallerFrame(frame)).toBe(false)
  })

  it.each([
    ['application code', '    at load (file:///app/src/client.ts:3:4)'],
    ['an async application frame', '    at async main (/app/src/main.js:10:1)'],
    ['a file matched by ignore only when not given', '    at get (file:///app/src/http/client.ts:1:1)'],
    ['a test of this repository', `    at ${fileURLToPath(new URL('./x.test.ts', import.meta.url))}:5:6`],
  ])('accepts %s', (_what, frame) => {
    expect(isCallerFrame(frame)).toBe(true)
  })
})

describe('libraries and ignore', () => {
  it('names the npm package of a node_modules frame, scoped or not, the innermost under pnpm', () => {
    expect(libraryOf('/app/node_modules/ky/distribution/index.js')).toBe('ky')
    expect(libraryOf('file:///app/node_modules/@aws-sdk/client-s3/dist/x.js')).toBe('@aws-sdk/client-s3')
    expect(libraryOf('/app/node_modules/.pnpm/ky@1.0.0/node_modules/ky/distribution/index.js')).toBe('ky')
    expect(libraryOf('/app/src/client.js')).toBe(undefined)
  })

  it('skips frames matched by ignore', () => {
    expect(isCallerFrame('    at get (file:///app/src/http/client.ts:1:1)', [/src\/http\//])).toBe(false)
  })
})

describe('captureStack', () => {
  let tracker: LeakTracker | undefined
  afterEach(() => tracker?.dispose())
  const base = roundTripper(async () => new Response('x'))

  async function stackOf(captureStack: CaptureStack, wrap: (client: RoundTripper) => RoundTripper = (c) => c): Promise<string | undefined> {
    tracker = leakTracker({ captureStack })
    const client = wrap(compose(base, tracker))
    const response = await requestHere(client)
    const [open] = tracker.outstanding()
    await response.body!.cancel()
    return open!.stack
  }
  function requestHere(client: RoundTripper): Promise<Response> {
    return client.roundTrip(new Request('http://a.test/'))
  }

  it("'caller' (the default) records the frame that made the request", async () => {
    const stack = await stackOf('caller')
    expect(stack?.split('\n')[0]).toMatch(/^ {4}at requestHere \(.*stack\.test\.ts:\d+:\d+\)$/)
  })

  it("'caller' finds the caller below many layers of roundtrip's own code", async () => {
    const nested = (client: RoundTripper): RoundTripper => compose(compose(compose(compose(compose(client)))))
    const stack = await stackOf('caller', nested)
    expect(stack?.split('\n')[0]).toMatch(/at requestHere \(.*stack\.test\.ts/)
    // The next capture finds it too.
    const client = nested(compose(base, tracker!))
    const response = await requestHere(client)
    expect(tracker!.outstanding()[0]!.stack?.split('\n')[0]).toMatch(/at requestHere \(.*stack\.test\.ts/)
    await response.body!.cancel()
  })

  it("'full' records the whole stack from the caller on", async () => {
    const stack = await stackOf('full')
    const frames = stack!.split('\n')
    expect(frames[0]).toMatch(/at requestHere \(.*stack\.test\.ts/)
    expect(frames.length).toBeGreaterThan(2)
    expect(frames.some((f) => f.includes('stackOf'))).toBe(true)
  })

  it('false records no stack', async () => {
    expect(await stackOf(false)).toBe(undefined)
  })
})

describe('maxStacksPerSecond', () => {
  it('past the budget a request has no stack, until its endpoint has leaked: then every request to it records one', async () => {
    const leaks: Leak[] = []
    const tracker = leakTracker({ maxStacksPerSecond: 0, maxAge: 1, onLeak: (l) => leaks.push(l) })
    try {
      const client = compose(
        roundTripper(async () => new Response(new ReadableStream({ pull() {} }))),
        tracker,
      )
      const first = await client.roundTrip(new Request('http://a.test/leaky?n=1'))
      const other = await client.roundTrip(new Request('http://a.test/other'))
      expect(tracker.outstanding().map((l) => l.stack)).toEqual([undefined, undefined])
      await vi.waitFor(() => expect(leaks).toHaveLength(2))
      expect(leaks[0]).toMatchObject({ stack: undefined, requestedAt: undefined })
      expect(describeLeak(leaks[0]!)).toContain('its stack was not recorded')
      const second = await client.roundTrip(new Request('http://a.test/leaky?n=2'))
      expect(tracker.outstanding().at(-1)!.requestedAt).toMatch(/stack\.test\.ts:\d+:\d+$/)
      await Promise.all([first, other, second].map((r) => r.body!.cancel()))
    } finally {
      tracker.dispose()
    }
  })

  it('rejects a negative budget', () => {
    expect(() => leakTracker({ maxStacksPerSecond: -1 })).toThrow(RangeError)
  })
})
