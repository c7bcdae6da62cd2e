import type { IncomingMessage, ServerResponse } from 'node:http'
import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../../test/server.js'
import { concurrencyLimit } from './concurrency-limit.js'

// The server holds every /hold response until the test releases it, and records arrival order and peak concurrency.
const held: Array<{ path: string; res: ServerResponse }> = []
const arrivals: string[] = []
let inFlight = 0
let peak = 0
let onArrival: (() => void) | undefined
function handler(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = `${name}${req.url}`
    arrivals.push(path)
    inFlight++
    peak = Math.max(peak, inFlight)
    res.on('close', () => inFlight--)
    if (req.url!.startsWith('/hold')) held.push({ path, res })
    else res.end('now')
    onArrival?.()
  }
}
let a: TestServer
let b: TestServer
beforeAll(async () => {
  a = await startServer(handler('a'))
  b = await startServer(handler('b'))
})
afterAll(async () => {
  await a.close()
  await b.close()
})

let transport: Transport
afterEach(async () => {
  for (const h of held.splice(0)) h.res.destroy()
  arrivals.length = 0
  peak = 0
  await transport.close()
})

/** Resolves once the server has received `n` requests in all. */
function arrived(n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (arrivals.length >= n) {
        onArrival = undefined
        resolve()
      }
    }
    onArrival = check
    check()
  })
}

/** Finishes the oldest held response. */
function releaseOne(): void {
  held.shift()!.res.end('done')
}

function client(options: Parameters<typeof concurrencyLimit>[0]): RoundTripper {
  transport = new Transport()
  return compose(transport, concurrencyLimit(options))
}

describe('concurrencyLimit over the Transport', () => {
  it('keeps at most max requests in flight and serves the rest in FIFO order', async () => {
    const c = client({ max: 2 })
    const calls = [1, 2, 3, 4, 5].map((i) => c.roundTrip(new Request(`${a.origin}/hold/${i}`)).then((r) => r.text()))
    await arrived(2)
    for (let n = 3; n <= 5; n++) {
      releaseOne()
      await arrived(n)
    }
    releaseOne()
    releaseOne()
    expect(await Promise.all(calls)).toEqual(['done', 'done', 'done', 'done', 'done'])
    expect(arrivals).toEqual(['a/hold/1', 'a/hold/2', 'a/hold/3', 'a/hold/4', 'a/hold/5'])
    expect(peak).toBe(2)
  })

  it('holds the slot until the body settles, not until the head', async () => {
    const c = client({ max: 1 })
    const first = await c.roundTrip(new Request(`${a.origin}/now/1`))
    let secondDone = false
    const second = c.roundTrip(new Request(`${a.origin}/now/2`)).then((r) => {
      secondDone = true
      return r.text()
    })
    // A probe sent after the second one, around the limiter: it has to dial, while
    // the second, were it let through, would go at once on the idle connection.
    expect(await (await transport.roundTrip(new Request(`${a.origin}/probe`))).text()).toBe('now')
    expect(arrivals).toEqual(['a/now/1', 'a/probe'])
    expect(secondDone).toBe(false)
    expect(await first.text()).toBe('now')
    expect(await second).toBe('now')
    expect(arrivals).toEqual(['a/now/1', 'a/probe', 'a/now/2'])
  })

  it('limits per host without holding up another host', async () => {
    const c = client({ perHost: 1 })
    const a1 = c.roundTrip(new Request(`${a.origin}/hold/1`))
    const a2 = c.roundTrip(new Request(`${a.origin}/hold/2`))
    const b1 = c.roundTrip(new Request(`${b.origin}/now/1`))
    expect(await (await b1).text()).toBe('now')
    await arrived(2)
    expect(arrivals.slice().sort()).toEqual(['a/hold/1', 'b/now/1'])
    releaseOne()
    await (await a1).text()
    await arrived(3)
    releaseOne()
    expect(await (await a2).text()).toBe('done')
  })

  it('lets an aborted waiting request leave at once with the reason; the queue goes on', async () => {
    const c = client({ max: 1 })
    const first = c.roundTrip(new Request(`${a.origin}/hold/1`))
    const controller = new AbortController()
    const waiting = c.roundTrip(new Request(`${a.origin}/hold/2`, { signal: controller.signal }))
    const third = c.roundTrip(new Request(`${a.origin}/hold/3`))
    await arrived(1)
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    releaseOne()
    await (await first).text()
    await arrived(2)
    releaseOne()
    expect(await (await third).text()).toBe('done')
    expect(arrivals).toEqual(['a/hold/1', 'a/hold/3'])
  })

  it('frees the slot of a failed call', async () => {
    const c = client({ max: 1 })
    await expect(c.roundTrip(new Request('http://127.0.0.1:1/'))).rejects.toMatchObject({ code: 'RT_CONNECT_REFUSED' })
    expect(await (await c.roundTrip(new Request(`${a.origin}/now`))).text()).toBe('now')
  })

  it('rejects missing or bad limits with RT_INVALID_OPTION', () => {
    expect(() => concurrencyLimit({})).toThrow(/give max, perHost or both/)
    expect(() => concurrencyLimit({ max: 0 })).toThrow(/max must be a positive integer/)
    expect(() => concurrencyLimit({ perHost: 1.5 })).toThrow(/perHost/)
  })
})
