import { isRoundTripError, roundTripper, withContext } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { listen, scenarioHandler, type Origin } from '../test/servers.js'
import { createFetch } from './create-fetch.js'
import { defaultTransport } from './default-transport.js'
import { fetch as readyFetch } from './fetch.js'

const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

async function origin(): Promise<Origin> {
  let self = ''
  const o = await listen(scenarioHandler(() => self))
  self = o.url
  open.push(o)
  return o
}

describe('createFetch', () => {
  it('rejects a network failure with TypeError fetch failed whose cause is the coded transport error', async () => {
    const gone = await listen(() => {})
    await gone.close()
    const transport = new Transport()
    open.push(transport)
    const error = await createFetch(transport)(`${gone.url}/`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe('fetch failed')
    expect(isRoundTripError((error as Error).cause, 'RT_CONNECT_REFUSED')).toBe(true)
  })

  it('sends every hop of a redirect through the RoundTripper, with the per-request context', async () => {
    const o = await origin()
    const seen: string[] = []
    const transport = new Transport()
    open.push(transport)
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

  it('releases every intermediate response body', async () => {
    const o = await origin()
    const transport = new Transport({ maxConnsPerHost: 1 })
    open.push(transport)
    const fetch = createFetch(transport)
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${o.url}/redirect?status=302&to=/redirect%3Fstatus%3D301`)
      expect(response.status).toBe(200)
      await response.text()
    }
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dials: 1 })
  })

  it('works as globalThis.fetch for code that calls fetch unaware', async () => {
    const o = await origin()
    const transport = new Transport()
    open.push(transport)
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
    const big = await listen((req, res) => res.end(Buffer.alloc(4 * 1024 * 1024, 1)))
    open.push(big)
    const transport = new Transport({ maxConnsPerHost: 1 })
    open.push(transport)
    const fetch = createFetch(transport)
    // The classic bug: look at the status, forget the body.
    const check = async (): Promise<boolean> => (await fetch(`${big.url}/`)).ok
    expect(await check()).toBe(true)
    expect(transport.stats().total.active).toBe(1)
    const gc = (globalThis as { gc?: () => void }).gc!
    for (let i = 0; i < 100 && transport.stats().total.active > 0; i++) {
      gc()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(transport.stats().total.active).toBe(0)
    const next = await fetch(`${big.url}/`)
    expect((await next.arrayBuffer()).byteLength).toBe(4 * 1024 * 1024)
  })

  it('rejects a RoundTripper that is not one', () => {
    expect(() => createFetch({} as never)).toThrow(TypeError)
  })
})
