import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import type { KyInstance } from 'ky'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { apiClient, errorStatus, readText, statusOf } from '../test/ky-calls.js'
import { collectGarbage, startServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { LeakTrackerOptions } from './options.js'

const BIG = 1024 * 1024
let server: TestServer
let flaky = 0
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/flaky') {
      // ky retries a 503: the first, small, error body is dropped unread.
      if (flaky++ % 2 === 0) res.statusCode = 503
      res.end(res.statusCode === 503 ? 'busy' : 'ok')
      return
    }
    if (req.url === '/missing') {
      res.statusCode = 404
      res.end('no such thing')
      return
    }
    if (req.url === '/big') {
      // More than the socket and the body queue hold: unread, it pins its connection.
      res.end(Buffer.alloc(BIG, 'a'))
      return
    }
    res.end('ok')
  })
})
afterAll(() => server.close())

const lineOf = (marker: string): number =>
  readFileSync(new URL('../test/ky-calls.ts', import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1

let transport: Transport | undefined
let tracker: LeakTracker | undefined
let warnings: Error[] = []
const onWarning = (warning: Error & { code?: string }): void => {
  if (warning.code === 'RT_LEAKED_BODY') warnings.push(warning)
}
beforeAll(() => {
  process.on('warning', onWarning)
})
afterAll(() => {
  process.off('warning', onWarning)
})
afterEach(async () => {
  tracker?.dispose()
  tracker = undefined
  await transport?.close()
  transport = undefined
  warnings = []
})

/** ky over createFetch over the tracker over a real Transport, with the tracker's default onLeak unless given. */
function setUp(options: LeakTrackerOptions = {}, maxConnsPerHost = 0): KyInstance {
  transport = new Transport({ maxConnsPerHost })
  tracker = leakTracker(options)
  return apiClient(createFetch(compose(transport, tracker)))
}

/** Resolves when the next request starts waiting for a connection (the Transport's `roundtrip:pool:queued`). */
function nextQueued(): Promise<void> {
  return new Promise((resolve) => {
    const listener = (): void => {
      unsubscribe('roundtrip:pool:queued', listener)
      resolve()
    }
    subscribe('roundtrip:pool:queued', listener)
  })
}

/** A tick for process warnings, which Node emits on the next one. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('severity: what a leaked body held', () => {
  it('a ky retry that drops a small, fully arrived 503 body: no warning by default, counted in summary()', async () => {
    const api = setUp()
    expect(await readText(api, `${server.origin}/flaky`)).toBe('ok')
    await collectGarbage(() => tracker!.summary().leaked.memory > 0)
    await tick()
    expect(tracker!.summary()).toMatchObject({ leaked: { connection: 0, memory: 1, unknown: 0 }, unreported: 1, open: 0 })
    expect(warnings).toEqual([])
    expect(() => tracker!.assertNoLeaks()).not.toThrow()
  })

  it("report: 'all' reports the memory-only leak of an HTTPError's unread body, saying it held only memory", async () => {
    const api = setUp({ report: 'all' })
    expect(await errorStatus(api, `${server.origin}/missing`)).toBe(404)
    await collectGarbage(() => warnings.length > 0)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toContain(`the response to GET ${server.origin}/missing (404) was garbage-collected`)
    expect(warnings[0]!.message).toContain('it held only memory')
    expect(tracker!.summary()).toMatchObject({ leaked: { memory: 1 }, unreported: 0 })
  })

  it('a large unread body pinning the only connection while a request waits: a warning naming your line (not ky’s), the hold time and the waiter', async () => {
    const api = setUp({}, 1)
    expect(await statusOf(api, `${server.origin}/big`)).toBe(200)
    expect(tracker!.summary()).toMatchObject({ open: 1, openHoldingConnection: 1 })
    const queued = nextQueued()
    const next = readText(api, `${server.origin}/next`)
    await queued
    await collectGarbage(() => warnings.length > 0)
    expect(await next).toBe('ok')
    expect(warnings).toHaveLength(1)
    const message = warnings[0]!.message
    expect(message).toContain(`the response to GET ${server.origin}/big (200) was garbage-collected with its body open`)
    expect(message).toMatch(new RegExp(`it held a connection to ${server.origin} for \\d+ ms; 1 request waited for a connection to ${server.origin} meanwhile`))
    expect(message).toMatch(new RegExp(`Requested at:\\n {4}at (async )?statusOf \\(.*test/ky-calls\\.ts:${lineOf('<- the leaking ky call')}:\\d+\\)\\n {4}via ky\\n`))
    expect(message).not.toMatch(/node_modules/)
    expect(tracker!.summary()).toMatchObject({ leaked: { connection: 1, memory: 0 }, open: 0, unreported: 0 })
  })

  it('ignoreLibraries counts a leak made through that library without reporting it', async () => {
    const api = setUp({ ignoreLibraries: ['ky'] })
    await statusOf(api, `${server.origin}/big`)
    await collectGarbage(() => tracker!.summary().leaked.connection > 0)
    await tick()
    expect(warnings).toEqual([])
    expect(tracker!.summary()).toMatchObject({ leaked: { connection: 1 }, unreported: 1 })
  })
})

describe('no false report for a body read to the end by a clone or a tee', () => {
  it('a large body read through its clone, the original dropped: the connection was released, so no warning', async () => {
    setUp()
    const fetch = createFetch(compose(transport!, tracker!))
    let collected = false
    const registry = new FinalizationRegistry(() => (collected = true))
    await (async () => {
      const response = await fetch(`${server.origin}/big`)
      expect((await response.clone().arrayBuffer()).byteLength).toBe(BIG)
      registry.register(response, 'original')
    })()
    await collectGarbage(() => collected)
    await tick()
    expect(collected).toBe(true)
    expect(warnings).toEqual([])
    expect(tracker!.summary()).toMatchObject({ leaked: { connection: 0, unknown: 0 }, open: 0 })
  })

  it('both branches of a clone or a tee read to the end: nothing open, nothing reported even with report: all', async () => {
    setUp({ report: 'all' })
    const fetch = createFetch(compose(transport!, tracker!))
    const cloned = await fetch(`${server.origin}/big`)
    const copy = cloned.clone()
    expect((await copy.arrayBuffer()).byteLength + (await cloned.arrayBuffer()).byteLength).toBe(2 * BIG)
    const teed = await fetch(`${server.origin}/big`)
    const [a, b] = teed.body!.tee()
    const sizes = await Promise.all([new Response(a).arrayBuffer(), new Response(b).arrayBuffer()])
    expect(sizes.map((s) => s.byteLength)).toEqual([BIG, BIG])
    await tick()
    expect(warnings).toEqual([])
    expect(tracker!.summary()).toMatchObject({ open: 0, leaked: { connection: 0, memory: 0, unknown: 0 } })
  })
})
