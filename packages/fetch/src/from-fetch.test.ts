import { getEventListeners } from 'node:events'
import { fetch as undiciFetch } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { deadline, holdingServer, type HoldingServer } from '../test/holding.js'
import { fromFetch, type FetchFunction } from './from-fetch.js'

let server: HoldingServer
let origin: Origin
let refused: string
beforeAll(async () => {
  const closed = await listen(() => {})
  refused = `${closed.url}/refused`
  await closed.close()
  server = await holdingServer()
  origin = server.origin
})
afterAll(() => origin.close())
afterEach(() => server.release())

const fetches: Record<string, FetchFunction> = {
  'globalThis.fetch': globalThis.fetch,
  'undici.fetch': undiciFetch as unknown as FetchFunction,
}

describe.each(Object.keys(fetches))('fromFetch(%s) under a layer that aborts the call', (name) => {
  const fetchFn = fetches[name]!

  it("aborts the fetch below on the call's signal, before the head: the server sees the socket close", async () => {
    const layer = deadline(fromFetch(fetchFn))
    const request = new Request(`${origin.url}/hang`)
    const arrived = server.nextHeld()
    const pending = layer.roundTrip(request)
    const { closed } = await arrived
    const reason = new DOMException('deadline passed', 'TimeoutError')
    layer.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await closed
  })

  it("aborts the fetch below on the call's signal during the body: the server sees the socket close", async () => {
    const layer = deadline(fromFetch(fetchFn))
    const request = new Request(`${origin.url}/half`)
    const arrived = server.nextHeld()
    const response = await layer.roundTrip(request)
    const { closed } = await arrived
    const reason = new DOMException('deadline passed', 'TimeoutError')
    const text = response.text()
    layer.abort(reason)
    await expect(text).rejects.toBe(reason)
    await closed
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
