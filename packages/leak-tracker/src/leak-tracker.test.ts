import { compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { fromFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dropUnread, readProperly } from '../test/drop.js'
import { collectUntil, site, type Site } from '../test/server.js'
import { LeakError, type Leak } from './leak.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'

let server: Site
let transport: Transport
const trackers: LeakTracker[] = []
beforeEach(async () => {
  server = await site()
  transport = new Transport()
})
afterEach(async () => {
  for (const t of trackers.splice(0)) t.dispose()
  transport.destroy()
  await transport.close()
  await server.close()
})

function track(options: Parameters<typeof leakTracker>[0] = {}): LeakTracker {
  const tracker = leakTracker(options)
  trackers.push(tracker)
  return tracker
}

describe('leakTracker: garbage-collected bodies', () => {
  it('reports a response dropped unread, with the file and line of the code that requested it', async () => {
    const leaks: Leak[] = []
    const client = compose(transport, track({ onLeak: (l) => leaks.push(l) }))
    await dropUnread(client, `${server.url}/data`)
    await collectUntil(() => leaks.length > 0)
    expect(leaks).toHaveLength(1)
    expect(leaks[0]).toMatchObject({ kind: 'collected', method: 'GET', url: `${server.url}/data`, status: 200 })
    expect(leaks[0]!.requestedAt).toMatch(/test[/\\]drop\.ts:5:\d+$/)
    expect(leaks[0]!.stack).toContain('dropUnread')
  })

  it('does not report a response that was read', async () => {
    const leaks: Leak[] = []
    const tracker = track({ onLeak: (l) => leaks.push(l) })
    const client = compose(transport, tracker)
    await readProperly(client, `${server.url}/data`)
    // A dropped one after it, to know collection ran.
    await dropUnread(client, `${server.url}/second`)
    await collectUntil(() => leaks.length > 0)
    expect(leaks.map((l) => l.url)).toEqual([`${server.url}/second`])
  })

  it('names the caller in the cheap stack mode too, and records nothing with stacks off', async () => {
    const leaks: Leak[] = []
    await dropUnread(compose(transport, track({ captureStack: 'caller', onLeak: (l) => leaks.push(l) })), `${server.url}/a`)
    await dropUnread(compose(transport, track({ captureStack: false, onLeak: (l) => leaks.push(l) })), `${server.url}/b`)
    await collectUntil(() => leaks.length > 1)
    const byUrl = Object.fromEntries(leaks.map((l) => [l.url.slice(-1), l]))
    expect(byUrl.a!.requestedAt).toMatch(/test[/\\]drop\.ts:5:\d+$/)
    expect(byUrl.b!.requestedAt).toBeUndefined()
    expect(byUrl.b!.stack).toBeUndefined()
  })

  it('warns with code RT_LEAKED_BODY by default, saying how to fix it', async () => {
    const warnings: Error[] = []
    const listen = (w: Error) => warnings.push(w)
    process.on('warning', listen)
    try {
      await dropUnread(compose(transport, track()), `${server.url}/warned`)
      await collectUntil(() => warnings.some((w) => (w as { code?: string }).code === 'RT_LEAKED_BODY'))
      const warning = warnings.find((w) => (w as { code?: string }).code === 'RT_LEAKED_BODY')!
      expect(warning.message).toContain(`GET ${server.url}/warned`)
      expect(warning.message).toContain('response.body?.cancel()')
      expect(warning.message).toMatch(/Requested at .*drop\.ts:5/)
    } finally {
      process.off('warning', listen)
    }
  })
})

describe('leakTracker: snapshots and maxAge', () => {
  it('assertNoLeaks() throws a coded error listing the open URL, then forgets it', async () => {
    const tracker = track()
    const client = compose(transport, tracker)
    const response = await client.roundTrip(new Request(`${server.url}/open?token=1`))
    expect(tracker.outstanding().map((l) => l.url)).toEqual([`${server.url}/open?token=1`])
    let error: unknown
    try {
      tracker.assertNoLeaks()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LeakError)
    expect((error as LeakError).code).toBe('RT_LEAKED_BODY')
    expect((error as Error).message).toContain(`GET ${server.url}/open?token=1`)
    expect(() => tracker.assertNoLeaks()).not.toThrow()
    await response.body?.cancel()
  })

  it('reclaims a body open past maxAge, freeing the connection for the next request', async () => {
    const leaks: Leak[] = []
    const limited = new Transport({ maxConnsPerHost: 1 })
    try {
      const client = compose(limited, track({ maxAge: 50, reclaim: true, onLeak: (l) => leaks.push(l) }))
      const held = await client.roundTrip(new Request(`${server.url}/big`)) // kept, never read
      const next = await client.roundTrip(new Request(`${server.url}/after`))
      expect(await next.json()).toEqual({ hello: 'world' })
      expect(leaks).toMatchObject([{ kind: 'aged', url: `${server.url}/big` }])
      await expect(held.arrayBuffer()).rejects.toMatchObject({ code: 'RT_LEAKED_BODY' })
    } finally {
      limited.destroy()
      await limited.close()
    }
  })
})

describe('leakTracker: at exit', () => {
  it('reports the bodies still open when the process exits, with reportOnExit', async () => {
    const leaks: Leak[] = []
    const before = process.listeners('exit')
    const tracker = track({ reportOnExit: true, onLeak: (l) => leaks.push(l) })
    const added = process.listeners('exit').filter((l) => !before.includes(l))
    expect(added).toHaveLength(1)
    const response = await compose(transport, tracker).roundTrip(new Request(`${server.url}/still-open`))
    added[0]!.call(process, 0)
    expect(leaks).toMatchObject([{ kind: 'exit', url: `${server.url}/still-open` }])
    await response.body?.cancel()
    tracker.dispose()
    expect(process.listeners('exit').filter((l) => !before.includes(l))).toHaveLength(0)
  })
})

describe('leakTracker: what settles a body', () => {
  const consumers: Array<[string, (r: Response) => Promise<unknown>]> = [
    ['text()', (r) => r.text()],
    ['json()', (r) => r.json()],
    ['arrayBuffer()', (r) => r.arrayBuffer()],
    ['blob()', (r) => r.blob()],
    ['a reader to the end', async (r) => {
      const reader = r.body!.getReader()
      while (!(await reader.read()).done) {}
    }],
    ['for await', async (r) => {
      for await (const _ of r.body!) void _
    }],
    ['pipeTo', (r) => r.body!.pipeTo(new WritableStream())],
    ['pipeThrough', async (r) => {
      for await (const _ of r.body!.pipeThrough(new TransformStream())) void _
    }],
    ['body.cancel()', (r) => r.body!.cancel()],
    ['clone() with both branches read', async (r) => {
      const copy = r.clone()
      await Promise.all([copy.text(), r.text()])
    }],
  ]
  if (typeof (Response.prototype as { bytes?: unknown }).bytes === 'function') {
    consumers.push(['bytes()', (r) => (r as unknown as { bytes(): Promise<Uint8Array> }).bytes()])
  }
  const bases: Record<string, () => RoundTripper> = {
    Transport: () => transport,
    'fromFetch(globalThis.fetch)': () => fromFetch(globalThis.fetch),
    'a test double': () => roundTripper(async (request) => new Response('{"double":true}', { headers: { 'x-url': request.url } })),
  }

  describe.each(Object.keys(bases))('over %s', (base) => {
    it.each(consumers)('%s', async (_name, consume) => {
      const tracker = track()
      const client = compose(bases[base]!(), tracker)
      const response = await client.roundTrip(new Request(`${server.url}/data`))
      expect(tracker.outstanding()).toHaveLength(1)
      await consume(response)
      expect(tracker.outstanding()).toEqual([])
    })

    it('formData()', async () => {
      const tracker = track()
      const response = await compose(bases[base]!(), tracker).roundTrip(new Request(`${server.url}/form`))
      if (base === 'a test double') return void (await response.body?.cancel())
      expect((await response.formData()).get('b')).toBe('2')
      expect(tracker.outstanding()).toEqual([])
    })
  })

  it('never counts a null body (HEAD, 204) as a leak', async () => {
    const tracker = track()
    const client = compose(transport, tracker)
    await client.roundTrip(new Request(`${server.url}/data`, { method: 'HEAD' }))
    await client.roundTrip(new Request(`${server.url}/empty`))
    expect(tracker.outstanding()).toEqual([])
  })

  it('changes nothing of the response: status, headers, url, redirected, bytes', async () => {
    const plain = await transport.roundTrip(new Request(`${server.url}/data`))
    const tracked = await compose(transport, track()).roundTrip(new Request(`${server.url}/data`))
    expect([tracked.status, tracked.headers.get('x-kept'), tracked.url, tracked.redirected]).toEqual([
      plain.status,
      plain.headers.get('x-kept'),
      plain.url,
      plain.redirected,
    ])
    expect(await tracked.text()).toBe(await plain.text())
  })
})
