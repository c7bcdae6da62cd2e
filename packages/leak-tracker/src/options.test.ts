import { compose, isRoundTripError, roundTripper, type RoundTripper } from '@roundtrip/core'
import { afterEach, describe, expect, it } from 'vitest'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import { ERR_BODY_RECLAIMED, type Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'

/** A body that never ends on its own, remembering how it was cancelled. */
function endless(): { response: Response; cancelled: Promise<unknown> } {
  let onCancel!: (reason: unknown) => void
  const cancelled = new Promise<unknown>((resolve) => (onCancel = resolve))
  const body = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new Uint8Array(1)),
    cancel: onCancel,
  })
  return { response: new Response(body), cancelled }
}

let tracker: LeakTracker | undefined
afterEach(() => tracker?.dispose())

/** A tracker over `base` whose `waitForLeaks(n)` resolves once `onLeak` has been called n times. */
function track(options: LeakTrackerOptions, base: RoundTripper): { client: RoundTripper; leaks: Leak[]; waitForLeaks(n: number): Promise<void> } {
  const leaks: Leak[] = []
  const waiters: Array<{ n: number; resolve: () => void }> = []
  tracker = leakTracker({
    ...options,
    onLeak(leak) {
      leaks.push(leak)
      for (const w of waiters) if (leaks.length >= w.n) w.resolve()
    },
  })
  return {
    client: compose(base, tracker),
    leaks,
    waitForLeaks: (n) => (leaks.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  }
}

describe('leakTracker: maxAge', () => {
  it('reports a body still open after maxAge as aged, once, and keeps listing it as outstanding', async () => {
    const bodies: Array<Promise<unknown>> = []
    const base = roundTripper(async () => {
      const { response, cancelled } = endless()
      bodies.push(cancelled)
      return response
    })
    const { client, leaks, waitForLeaks } = track({ maxAge: 1 }, base)
    const first = await client.roundTrip(new Request('http://a.test/first'))
    await waitForLeaks(1)
    const second = await client.roundTrip(new Request('http://a.test/second'))
    await waitForLeaks(2)
    // The first was not reported again when the timer fired for the second.
    expect(leaks.map((l) => [l.kind, l.url, l.reclaimed])).toEqual([
      ['aged', 'http://a.test/first', false],
      ['aged', 'http://a.test/second', false],
    ])
    expect(leaks[0]!.ageMs).toBeGreaterThanOrEqual(1)
    expect(tracker!.outstanding().map((o) => o.url)).toEqual(['http://a.test/first', 'http://a.test/second'])
    await Promise.all([first.body!.cancel(), second.body!.cancel()])
    expect(tracker!.outstanding()).toEqual([])
  })

  it('does not report a body settled before maxAge', async () => {
    const { client, leaks, waitForLeaks } = track({ maxAge: 1 }, roundTripper(async (r) => (r.url.endsWith('/open') ? endless().response : new Response('x'))))
    const read = await client.roundTrip(new Request('http://a.test/read'))
    await read.text()
    const open = await client.roundTrip(new Request('http://a.test/open'))
    await waitForLeaks(1)
    expect(leaks.map((l) => l.url)).toEqual(['http://a.test/open'])
    await open.body!.cancel()
  })

  it('with reclaim, cancels an aged body nobody is reading, with an RT_BODY_RECLAIMED reason', async () => {
    let cancelled: Promise<unknown> | undefined
    const base = roundTripper(async () => {
      const made = endless()
      cancelled = made.cancelled
      return made.response
    })
    const { client, leaks, waitForLeaks } = track({ maxAge: 1, reclaim: true }, base)
    const response = await client.roundTrip(new Request('http://a.test/reclaimed'))
    await waitForLeaks(1)
    expect(leaks[0]).toMatchObject({ kind: 'aged', url: 'http://a.test/reclaimed', reclaimed: true })
    const reason = await cancelled
    expect(isRoundTripError(reason, ERR_BODY_RECLAIMED)).toBe(true)
    expect((reason as Error).message).toContain('GET http://a.test/reclaimed')
    expect(tracker!.outstanding()).toEqual([])
    await expect(response.text()).rejects.toMatchObject({ code: ERR_BODY_RECLAIMED })
    // A reclaimed body is a leak all the same.
    expect(() => tracker!.assertNoLeaks()).toThrow(/reclaim/)
  })

  it('with reclaim, reports but leaves alone a body someone is reading', async () => {
    const { client, leaks, waitForLeaks } = track({ maxAge: 1, reclaim: true }, roundTripper(async () => endless().response))
    const response = await client.roundTrip(new Request('http://a.test/slow'))
    const reader = response.body!.getReader()
    await reader.read()
    await waitForLeaks(1)
    expect(leaks[0]).toMatchObject({ kind: 'aged', reclaimed: false })
    expect(tracker!.outstanding()).toHaveLength(1)
    expect((await reader.read()).done).toBe(false)
    await reader.cancel()
    expect(tracker!.outstanding()).toEqual([])
  })

  it('rejects a negative maxAge, reclaim without maxAge, and option values of the wrong kind', () => {
    expect(() => leakTracker({ maxAge: -1 })).toThrow(RangeError)
    expect(() => leakTracker({ maxAge: Number.NaN })).toThrow(/maxAge/)
    expect(() => leakTracker({ reclaim: true })).toThrow(/reclaim needs maxAge/)
    expect(() => leakTracker({ onLeak: 'log' as never })).toThrow(/onLeak must be a function/)
    expect(() => leakTracker({ captureStack: 'short' as never })).toThrow(/captureStack must be/)
  })
})

describe('leakTracker: lifecycle', () => {
  it('forwards closeIdleConnections() and close() to the RoundTripper it wraps', async () => {
    const calls: string[] = []
    const base = {
      roundTrip: async () => new Response(null),
      closeIdleConnections: () => void calls.push('closeIdleConnections'),
      close: async () => void calls.push('close'),
    }
    tracker = leakTracker()
    const wrapped = tracker(base) as RoundTripper & { closeIdleConnections(): void; close(): Promise<void>; [Symbol.asyncDispose](): Promise<void> }
    wrapped.closeIdleConnections()
    await wrapped.close()
    await wrapped[Symbol.asyncDispose]()
    expect(calls).toEqual(['closeIdleConnections', 'close', 'close'])
  })

  function exitListenerOf(make: () => void): () => void {
    const before = new Set(process.listeners('exit'))
    make()
    const added = process.listeners('exit').filter((l) => !before.has(l))
    expect(added).toHaveLength(1)
    return added[0] as () => void
  }

  it('with reportOnExit, reports the bodies still open when the process exits', async () => {
    let setup!: ReturnType<typeof track>
    const listener = exitListenerOf(() => (setup = track({ reportOnExit: true }, roundTripper(async () => new Response('x')))))
    const { client, leaks } = setup
    const open = await client.roundTrip(new Request('http://a.test/open-at-exit'))
    const read = await client.roundTrip(new Request('http://a.test/read'))
    await read.text()
    listener()
    expect(leaks).toMatchObject([{ kind: 'exit', url: 'http://a.test/open-at-exit' }])
    tracker!.dispose()
    expect(process.listeners('exit')).not.toContain(listener)
    await open.body!.cancel()
  })

  it('the default onLeak writes exit leaks to stderr at once, since a warning would never be printed', async () => {
    const listener = exitListenerOf(() => (tracker = leakTracker({ reportOnExit: true })))
    const response = await compose(roundTripper(async () => new Response('x')), tracker!).roundTrip(new Request('http://a.test/exit'))
    const written: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as unknown as typeof write
    try {
      listener()
    } finally {
      process.stderr.write = write
    }
    expect(written.join('')).toMatch(/\[RT_LEAKED_BODY\] RoundTripLeakWarning: the response to GET http:\/\/a\.test\/exit \(200\) still had its body open at process exit/)
    await response.body!.cancel()
  })

  it('dispose() stops tracking: open bodies are forgotten and later responses pass through untracked', async () => {
    const { client, leaks } = track({ maxAge: 1 }, roundTripper(async () => new Response('x')))
    const before = await client.roundTrip(new Request('http://a.test/before'))
    tracker!.dispose()
    expect(tracker!.outstanding()).toEqual([])
    const after = await client.roundTrip(new Request('http://a.test/after'))
    expect(tracker!.outstanding()).toEqual([])
    expect(() => tracker!.assertNoLeaks()).not.toThrow()
    await Promise.all([before.body!.cancel(), after.body!.cancel()])
    expect(leaks).toEqual([])
  })
})
