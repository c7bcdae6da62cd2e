import { getEventListeners } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { attachHooks, CallAbortController, callSignal, type RoundTripper } from '@roundtrip/core'
import { fetch as undiciFetch } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { fromFetch, type FetchFunction } from './from-fetch.js'

// Requests the server holds (no head, or half a body), and a promise per request that resolves when its socket closes.
const held: Array<{ req: IncomingMessage; res: ServerResponse; closed: Promise<void> }> = []
let arrivedResolve: (() => void) | undefined
let origin: Origin
let refused: string
beforeAll(async () => {
  const closed = await listen(() => {})
  refused = `${closed.url}/refused`
  await closed.close()
  origin = await listen((req, res) => {
    if (req.url === '/hello') return void res.end('hello')
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()))
    if (req.url === '/half') {
      res.writeHead(200, { 'content-length': '4' })
      res.write('ab')
    }
    held.push({ req, res, closed })
    arrivedResolve?.()
  })
})
afterAll(() => origin.close())
afterEach(() => {
  for (const { res } of held.splice(0)) res.destroy()
})

/** Resolves when the server holds a new request. */
function held1(): Promise<(typeof held)[number]> {
  const n = held.length
  return new Promise((resolve) => {
    arrivedResolve = () => {
      if (held.length > n) resolve(held[n]!)
    }
  })
}

/** A layer that aborts the call below it when `abort` is called, as `timeout()` does: a call signal, not `request.signal`. */
function deadline(next: RoundTripper): { roundTrip(request: Request): Promise<Response>; abort(reason: unknown): void } {
  let controller: CallAbortController | undefined
  return {
    roundTrip(request) {
      controller = new CallAbortController(callSignal(request))
      const detach = attachHooks(request, { signal: controller.signal })
      return next.roundTrip(request).finally(detach)
    },
    abort: (reason) => controller!.abort(reason),
  }
}

const fetches: Record<string, FetchFunction> = {
  'globalThis.fetch': globalThis.fetch,
  'undici.fetch': undiciFetch as unknown as FetchFunction,
}

describe.each(Object.keys(fetches))('fromFetch(%s) under a layer that aborts the call', (name) => {
  const fetchFn = fetches[name]!

  it("aborts the fetch below on the call's signal, before the head: the server sees the socket close", async () => {
    const layer = deadline(fromFetch(fetchFn))
    const request = new Request(`${origin.url}/hang`)
    const arrived = held1()
    const pending = layer.roundTrip(request)
    const { closed } = await arrived
    const reason = new DOMException('deadline passed', 'TimeoutError')
    layer.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await closed
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it("aborts the fetch below on the call's signal during the body, and leaves no listener", async () => {
    const layer = deadline(fromFetch(fetchFn))
    const request = new Request(`${origin.url}/half`)
    const arrived = held1()
    const response = await layer.roundTrip(request)
    const { closed } = await arrived
    const reason = new DOMException('deadline passed', 'TimeoutError')
    const text = response.text()
    layer.abort(reason)
    await expect(text).rejects.toBe(reason)
    await closed
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it("stops listening to the call's signal once the body is read, cancelled, or the call failed", async () => {
    const layer = deadline(fromFetch(fetchFn))
    // The layer's call signal listens to the request's own signal only while something listens to it.
    const requests = [new Request(`${origin.url}/hello`), new Request(`${origin.url}/hello`), new Request(refused)]
    const read = await layer.roundTrip(requests[0]!)
    expect(await read.text()).toBe('hello')
    const cancelled = await layer.roundTrip(requests[1]!)
    await cancelled.body!.cancel()
    await expect(layer.roundTrip(requests[2]!)).rejects.toThrow(TypeError)
    for (const request of requests) expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })
})
