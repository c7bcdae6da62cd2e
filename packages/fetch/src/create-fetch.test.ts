import { getContext, isRoundTripError, roundTripper, withContext } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { createHash } from 'node:crypto'
import { PerformanceObserver, type PerformanceEntry, type PerformanceResourceTiming } from 'node:perf_hooks'
import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { collectGarbage, listen, scenarioHandler, type Origin } from '../test/servers.js'
import { createFetch } from './create-fetch.js'
import { defaultTransport } from './default-transport.js'
import { getRoundTripError } from './errors.js'
import { fetch as readyFetch } from './fetch.js'

const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

/** track closes `closable` after the test. */
function track<T extends { close(): Promise<void> }>(closable: T): T {
  open.push(closable)
  return closable
}

/** fetchFailure awaits a fetch that must fail as Node's fails on a network error, `TypeError('fetch failed')`, and returns that error. */
async function fetchFailure(sent: Promise<Response>): Promise<TypeError & { cause: Error & { code?: string; roundTripError?: unknown } }> {
  const error = await sent.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(TypeError)
  expect((error as Error).message).toBe('fetch failed')
  return error as TypeError & { cause: Error & { code?: string; roundTripError?: unknown } }
}

async function origin(): Promise<Origin> {
  let self = ''
  const o = await listen(scenarioHandler(() => self))
  self = o.url
  return track(o)
}

describe('createFetch', () => {
  it('rejects a refused connection with TypeError fetch failed whose cause is the ECONNREFUSED error, coded error alongside', async () => {
    const gone = await listen(() => {})
    await gone.close()
    const transport = track(new Transport())
    const error = await fetchFailure(createFetch(transport)(`${gone.url}/`))
    const cause = error.cause
    // What code written for Node's fetch checks:
    expect(cause.code).toBe('ECONNREFUSED')
    expect(cause.message).toBe(`connect ECONNREFUSED 127.0.0.1:${gone.port}`)
    // The project's classification, documented as cause.roundTripError:
    expect(isRoundTripError(cause.roundTripError, 'RT_CONNECT_REFUSED')).toBe(true)
    expect(getRoundTripError(error)).toBe(cause.roundTripError)
  })

  it('rejects a connect timeout with cause.code UND_ERR_CONNECT_TIMEOUT, as Node’s fetch, coded RT_CONNECT_TIMEOUT alongside', async () => {
    // A dial that never answers: the Transport's connectTimeout ends it.
    const transport = track(new Transport({ connectTimeout: 30, dial: () => new Promise(() => {}) }))
    const error = await fetchFailure(createFetch(transport)('http://service.local/'))
    expect(error.cause.code).toBe('UND_ERR_CONNECT_TIMEOUT')
    expect(error.cause.name).toBe('ConnectTimeoutError')
    expect(error.cause.message).toBe('Connect Timeout Error (attempted address: service.local:80, timeout: 30ms)')
    expect(isRoundTripError(error.cause.roundTripError, 'RT_CONNECT_TIMEOUT')).toBe(true)
  })

  it('rejects an unknown host with cause.code ENOTFOUND', async () => {
    const transport = track(new Transport())
    const error = await fetchFailure(createFetch(transport)('http://no-such-host.invalid/'))
    expect(error.cause.code).toBe('ENOTFOUND')
    expect(isRoundTripError(error.cause.roundTripError)).toBe(true)
  })

  it('rejects a connection reset before the response with cause.code ECONNRESET', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const error = await fetchFailure(createFetch(transport)(`${o.url}/reset`))
    expect(error.cause.code).toBe('ECONNRESET')
  })

  it('rejects the body reads of a connection lost mid-body with TypeError terminated, the coded error reachable', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const response = await createFetch(transport)(`${o.url}/cut`)
    const error = (await response.text().catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe('terminated')
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_SOCKET')
    expect(getRoundTripError(error)?.code).toBe('RT_SOCKET_CLOSED')
  })

  it('sends every hop of a redirect through the RoundTripper, with the per-request context', async () => {
    const o = await origin()
    const seen: string[] = []
    const transport = track(new Transport())
    const rt = roundTripper((request) => {
      seen.push(new URL(request.url).pathname)
      return transport.roundTrip(request)
    })
    const hops: string[] = []
    const request = withContext(new Request(`${o.url}/redirect?status=307`, { method: 'POST', body: 'x' }), {
      trace: { getConn: (key: string) => void hops.push(key) },
    })
    const response = await createFetch(rt)(request)
    expect(response.redirected).toBe(true)
    expect(((await response.json()) as { body: string }).body).toBe('x')
    expect(seen).toEqual(['/redirect', '/echo'])
    // The trace attached to the first request reached the Transport on both hops.
    expect(hops).toEqual([o.url, o.url])
  })

  it('carries a context whose only key is a symbol to the next hop', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const key = Symbol('private')
    const seen: unknown[] = []
    const rt = roundTripper((request) => {
      seen.push((getContext(request) as Record<symbol, unknown>)[key])
      return transport.roundTrip(request)
    })
    const request = withContext(new Request(`${o.url}/redirect?status=302`), { [key]: 'kept' } as never)
    await (await createFetch(rt)(request)).text()
    expect(seen).toEqual(['kept', 'kept'])
  })

  it('releases every intermediate response body', async () => {
    const o = await origin()
    const transport = track(new Transport({ maxConnsPerHost: 1 }))
    const fetch = createFetch(transport)
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${o.url}/redirect?status=302&to=/redirect%3Fstatus%3D301`)
      expect(response.status).toBe(200)
      await response.text()
    }
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dials: 1 })
  })

  it('follows a redirect whose body cancel never settles (a tee\'d clone\'s), cancelling it without waiting', async () => {
    let cancelled: unknown = 'not cancelled'
    const hanging = (): ReadableStream<Uint8Array> =>
      new ReadableStream({
        cancel(reason) {
          cancelled = reason
          return new Promise(() => {})
        },
      })
    const fetch = createFetch(
      roundTripper((request) =>
        Promise.resolve(request.url.endsWith('/next') ? new Response('done') : new Response(hanging(), { status: 302, headers: { location: '/next' } })),
      ),
    )
    const response = await fetch('http://example.test/start')
    expect(await response.text()).toBe('done')
    expect(cancelled).toBeUndefined()
  })

  it('works as globalThis.fetch for code that calls fetch unaware', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const original = globalThis.fetch
    globalThis.fetch = createFetch(transport)
    try {
      // A small program that knows nothing of roundtrip.
      const program = async (base: string) => {
        const posted = await fetch(`${base}/echo`, { method: 'POST', body: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json' } })
        const echoed = (await posted.json()) as { body: string }
        const redirected = await fetch(`${base}/redirect?status=301`)
        return { echoed: JSON.parse(echoed.body) as unknown, redirected: redirected.redirected, data: await (await fetch('data:,x')).text() }
      }
      expect(await program(o.url)).toEqual({ echoed: { n: 1 }, redirected: true, data: 'x' })
      expect(transport.stats().total.requests).toBe(3)
    } finally {
      globalThis.fetch = original
    }
  })

  it('uses the shared default Transport without an argument, as the ready fetch does', async () => {
    const o = await origin()
    const response = await readyFetch(`${o.url}/echo`)
    expect(response.status).toBe(200)
    await response.text()
    expect(defaultTransport().stats().hosts[`${o.url}`]?.requests).toBe(1)
    await defaultTransport().close()
  })

  it('frees the connection of a response dropped unread once it is garbage-collected', async () => {
    const big = track(await listen((req, res) => res.end(Buffer.alloc(4 * 1024 * 1024, 1))))
    const transport = track(new Transport({ maxConnsPerHost: 1 }))
    const fetch = createFetch(transport)
    // The classic bug: look at the status, forget the body.
    const check = async (): Promise<boolean> => (await fetch(`${big.url}/`)).ok
    expect(await check()).toBe(true)
    expect(transport.stats().total.active).toBe(1)
    await collectGarbage(() => transport.stats().total.active === 0)
    expect(transport.stats().total.active).toBe(0)
    const next = await fetch(`${big.url}/`)
    expect((await next.arrayBuffer()).byteLength).toBe(4 * 1024 * 1024)
  })

  it('rejects a redirect to a URL with credentials as fetch failed, coded, without printing the password', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const error = await fetchFailure(createFetch(transport)(`${o.url}/credentials`))
    expect(isRoundTripError(error.cause, 'RT_REDIRECT')).toBe(true)
    expect(getRoundTripError(error)).toBe(error.cause)
    expect(error.cause.message).toContain('credentials')
    expect(inspect(error, { depth: 5 })).not.toContain('S3CRET')
  })

  it('refuses a bad port before dialing, also on a redirect hop', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const fetch = createFetch(transport)
    for (const url of ['http://127.0.0.1:6666/', `${o.url}/redirect?to=${encodeURIComponent('http://127.0.0.1:25/')}`]) {
      const error = await fetchFailure(fetch(url))
      expect(isRoundTripError(error.cause, 'RT_BAD_PORT')).toBe(true)
    }
    expect(Object.keys(transport.stats().hosts)).toEqual([o.url])
  })

  it('warns once per fetch function, with a code, that init.dispatcher has no effect', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const warnings: Array<Error & { code?: string }> = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      // Two fetch functions: each says so once, whatever another (or an earlier test file in this process) did.
      for (const fetch of [createFetch(transport), createFetch(transport)]) {
        for (let i = 0; i < 2; i++) await (await fetch(`${o.url}/echo`, { dispatcher: {} } as RequestInit)).text()
      }
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.map((w) => w.code)).toEqual(['RT_FETCH_DISPATCHER_IGNORED', 'RT_FETCH_DISPATCHER_IGNORED'])
    expect(warnings[0]!.message).toMatch(/no effect.*Transport options/)
  })

  it('replays a FormData body on a 307 byte for byte, with the boundary its content-type names', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const form = new FormData()
    form.append('field', 'line one\nline two')
    form.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a "quoted".txt')
    const response = await createFetch(transport)(`${o.url}/redirect?status=307`, { method: 'POST', body: form })
    const echo = (await response.json()) as { contentType: string; body: string }
    const boundary = /boundary=(.+)$/.exec(echo.contentType)![1]!
    expect(echo.body.startsWith(`--${boundary}\r\n`)).toBe(true)
    expect(echo.body.endsWith(`--${boundary}--\r\n`)).toBe(true)
    // Parsed by the platform's own multipart parser, as a server would.
    const parsed = await new Response(echo.body, { headers: { 'content-type': echo.contentType } }).formData()
    expect(parsed.get('field')).toBe('line one\r\nline two')
    const file = parsed.get('file') as File
    expect([file.name, file.type, await file.text()]).toEqual(['a "quoted".txt', 'text/plain', 'file content'])
  })

  it('does not change the Host header of a Request the caller passed in', async () => {
    const o = await origin()
    const transport = track(new Transport())
    const request = new Request(`${o.url}/echo`, { headers: { host: 'elsewhere.test' } })
    const echo = (await (await createFetch(transport)(request)).json()) as { host: string }
    expect(echo.host).toBe(new URL(o.url).host)
    expect(request.headers.get('host')).toBe('elsewhere.test')
  })

  it('rejects an integrity mismatch with a coded cause, and the connection goes back to the pool', async () => {
    const o = await origin()
    const transport = track(new Transport({ maxConnsPerHost: 1 }))
    const fetch = createFetch(transport)
    const error = await fetchFailure(fetch(`${o.url}/cookies`, { integrity: `sha256-${'A'.repeat(43)}=` }))
    expect(isRoundTripError(error.cause, 'RT_INTEGRITY_MISMATCH')).toBe(true)
    expect(transport.stats().total).toMatchObject({ active: 0, dials: 1 })
    const ok = await fetch(`${o.url}/cookies`, { integrity: `sha256-${createHash('sha256').update('cookies').digest('base64')}` })
    expect([ok.url, await ok.text()]).toEqual([`${o.url}/cookies`, 'cookies'])
    expect(transport.stats().total.dials).toBe(1)
  })

  it('rejects a RoundTripper that is not one', () => {
    expect(() => createFetch({} as never)).toThrow(TypeError)
  })

  it('adds a resource-timing entry whose connection times are its fetchStart, seen by a PerformanceObserver', async () => {
    const o = await origin()
    const transport = new Transport()
    open.push(transport)
    const url = `${o.url}/cookies?observer=${Math.random()}`
    let observer: PerformanceObserver | undefined
    const seen = new Promise<PerformanceEntry>((resolve) => {
      observer = new PerformanceObserver((list) => {
        const entry = list.getEntriesByName(url)[0]
        if (entry !== undefined) resolve(entry)
      })
      observer.observe({ type: 'resource' })
    })
    try {
      expect(await (await createFetch(transport)(url)).text()).toBe('cookies')
      const e = (await seen) as PerformanceResourceTiming & { responseStart: number }
      expect([e.domainLookupStart, e.domainLookupEnd, e.connectStart, e.connectEnd, e.secureConnectionStart]).toEqual(Array(5).fill(e.fetchStart))
      expect(e.fetchStart).toBe(e.startTime)
      expect(e.startTime).toBeLessThanOrEqual(e.requestStart)
      expect(e.requestStart).toBeLessThanOrEqual(e.responseStart)
      expect(e.responseStart).toBeLessThanOrEqual(e.responseEnd)
      expect(e.toJSON()).toMatchObject({ name: url, initiatorType: 'fetch', encodedBodySize: 7, decodedBodySize: 7, nextHopProtocol: undefined, redirectStart: 0 })
    } finally {
      observer?.disconnect()
    }
  })
})
