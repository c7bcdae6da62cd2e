// The call signal createFetch gives its requests: neverAborted when the caller
// passed no signal (so nothing listens to the Request's own AbortSignal), the
// request's signal otherwise, which must abort exactly as before.
import { getEventListeners } from 'node:events'
import { callSignal, neverAborted, roundTripper, tryRoundTrip, type CallSignal, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deadline, holdingServer, type Held, type HoldingServer } from '../test/holding.js'
import type { Origin } from '../test/servers.js'
import { createFetch } from './create-fetch.js'
import { fromFetch, type FetchFunction } from './from-fetch.js'

let server: HoldingServer
let origin: Origin
let held: Held[]
beforeAll(async () => {
  server = await holdingServer()
  ;({ origin, held } = server)
})
afterAll(() => origin.close())

let transport: Transport
afterEach(async () => {
  server.release()
  await transport.close()
})

/** Over `next`, remembers each request and its call signal as the layer below sees them. */
function spy(next: RoundTripper): RoundTripper & { requests: Request[]; signals: CallSignal[] } {
  const requests: Request[] = []
  const signals: CallSignal[] = []
  return Object.assign(
    roundTripper((request) => {
      requests.push(request)
      signals.push(callSignal(request))
      return tryRoundTrip(next, request)
    }),
    { requests, signals },
  )
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('createFetch without a caller signal', () => {
  it('gives the layers below neverAborted as the call signal, and nothing listens to the Request’s own signal', async () => {
    transport = new Transport()
    const below = spy(transport)
    const response = await createFetch(below)(`${origin.url}/half`)
    expect(below.signals).toEqual([neverAborted])
    // WHATWG's member is still there for a layer that reads it.
    const request = below.requests[0]!
    expect(request.signal).toBeInstanceOf(AbortSignal)
    // The body is still streaming: before, the Transport listened to request.signal until its end.
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
    await response.body!.cancel()
  })

  it('a layer’s own deadline still aborts the head and the body, and frees the connection', async () => {
    transport = new Transport()
    const layer = deadline(spy(transport))
    const f = createFetch(layer)

    const arrived = server.nextHeld()
    const head = f(`${origin.url}/hang`)
    const { closed } = await arrived
    layer.abort(new DOMException('late', 'TimeoutError'))
    expect(await rejection(head)).toMatchObject({ name: 'TimeoutError', message: 'late' })
    await closed

    const response = await f(`${origin.url}/half`)
    const text = response.text()
    layer.abort(new DOMException('late body', 'TimeoutError'))
    expect(await rejection(text)).toMatchObject({ name: 'TimeoutError', message: 'late body' })
    await held.at(-1)!.closed
    expect(transport.stats().total.active).toBe(0)
  })

  it('a redirect hop has neverAborted too, and nothing listens to its signal', async () => {
    transport = new Transport()
    const below = spy(transport)
    const arrived = server.nextHeld()
    const sent = createFetch(below)(`${origin.url}/redirect`)
    const { res } = await arrived
    expect(below.signals).toEqual([neverAborted, neverAborted])
    expect(getEventListeners(below.requests[1]!.signal, 'abort')).toHaveLength(0)
    res.end('second hop')
    expect(await (await sent).text()).toBe('second hop')
  })
})

describe('createFetch with a caller signal (as before)', () => {
  it('a signal in init aborts the head and then the body; the Request’s signal keeps no listener after', async () => {
    transport = new Transport()
    const below = spy(transport)
    const f = createFetch(below)

    const controller = new AbortController()
    const arrived = server.nextHeld()
    const head = f(`${origin.url}/hang`, { signal: controller.signal })
    const { closed } = await arrived
    expect(below.signals[0]).toBe(below.requests[0]!.signal)
    controller.abort(new Error('mine'))
    expect(await rejection(head)).toMatchObject({ message: 'mine' })
    await closed

    const body = new AbortController()
    const response = await f(`${origin.url}/half`, { signal: body.signal })
    const text = response.text()
    body.abort(new Error('mine, in the body'))
    expect(await rejection(text)).toMatchObject({ message: 'mine, in the body' })
    await held.at(-1)!.closed
    for (const request of below.requests) expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it('a Request built with a signal aborts, under a layer’s deadline too', async () => {
    transport = new Transport()
    const layer = deadline(spy(transport))
    const controller = new AbortController()
    const arrived = server.nextHeld()
    const sent = createFetch(layer)(new Request(`${origin.url}/hang`, { signal: controller.signal }))
    const { closed } = await arrived
    controller.abort(new Error('from the Request'))
    expect(await rejection(sent)).toMatchObject({ message: 'from the Request' })
    await closed
  })

  it('an already aborted signal, in init or on a Request, rejects with its reason before any connection', async () => {
    transport = new Transport()
    const f = createFetch(transport)
    const reason = new RangeError('before')
    expect(await rejection(f(`${origin.url}/hello`, { signal: AbortSignal.abort(reason) }))).toBe(reason)
    expect(await rejection(f(new Request(`${origin.url}/hello`, { signal: AbortSignal.abort(reason) })))).toBe(reason)
    expect(transport.stats().total.dials).toBe(0)
  })

  it('a redirect hop of a call with a signal follows it: aborting during the second hop rejects', async () => {
    transport = new Transport()
    const below = spy(transport)
    const controller = new AbortController()
    const arrived = server.nextHeld()
    const sent = createFetch(below)(`${origin.url}/redirect`, { signal: controller.signal })
    const { closed } = await arrived
    expect(below.signals[1]).toBe(below.requests[1]!.signal)
    controller.abort(new Error('mid-redirect'))
    expect(await rejection(sent)).toMatchObject({ message: 'mid-redirect' })
    await closed
  })
})

describe('fromFetch under createFetch', () => {
  it('passes no signal of its own down for a call nothing can abort, and a bridged one under a deadline', async () => {
    transport = new Transport()
    const inits: Array<RequestInit | undefined> = []
    const recorded: FetchFunction = (input, init) => {
      inits.push(init)
      return globalThis.fetch(input, init)
    }
    await (await createFetch(fromFetch(recorded))(`${origin.url}/hello`)).text()
    expect(inits[0]?.signal).toBeUndefined()
    await (await createFetch(deadline(fromFetch(recorded)))(`${origin.url}/hello`)).text()
    expect(inits[1]?.signal).toBeInstanceOf(AbortSignal)
  })
})
