import { kRoundTripThen, roundTripThen, type RoundTripContinuation, type RoundTripThen } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startServer } from '../test/server.js'
import { closedPort, deferred, rejection } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

/**
 * A continuation that records each call of its methods, and whether the
 * Transport's method had returned by then (`returned.value`, set by the
 * test once it has). Its methods pass the outcome on unchanged.
 */
function recorder(returned: { value: boolean }): RoundTripContinuation & { log: string[] } {
  const log: string[] = []
  return {
    log,
    received(response: Response): Response {
      log.push(`received ${response.status} returned=${returned.value}`)
      return response
    },
    failed(error: unknown): never {
      log.push(`failed ${(error as Error).name} returned=${returned.value}`)
      throw error
    },
  }
}

/** thenOf calls the Transport's kRoundTripThen with `k`, and notes when it returned. */
function thenOf(transport: Transport, request: Request, k: RoundTripContinuation, returned: { value: boolean }): Promise<Response> {
  const declared = (transport as unknown as { [kRoundTripThen]: RoundTripThen })[kRoundTripThen]
  const promise = (declared.then as (this: Transport, r: Request, k: RoundTripContinuation) => Promise<Response>).call(transport, request, k)
  returned.value = true
  return promise
}

describe('Transport: kRoundTripThen', () => {
  it('is declared for roundTrip (non-enumerable): a spread copy does not declare it, a replaced roundTrip is not skipped', () => {
    const transport = f.use(new Transport())
    expect((transport as unknown as { [kRoundTripThen]: RoundTripThen })[kRoundTripThen].roundTrip).toBe(transport.roundTrip)
    expect(Object.prototype.propertyIsEnumerable.call(Object.getPrototypeOf(transport), kRoundTripThen)).toBe(false)
    expect(({ ...transport } as Record<symbol, unknown>)[kRoundTripThen]).toBeUndefined()
  })

  it('is not used once roundTrip is replaced on the instance: the replacement is called', async () => {
    const transport = f.use(new Transport())
    const patched = new Response('patched')
    transport.roundTrip = () => Promise.resolve(patched)
    const k: RoundTripContinuation = { received: (r) => r, failed: (e) => Promise.reject(e) }
    expect(await roundTripThen(transport, new Request('http://127.0.0.1:1/'), k)).toBe(patched)
  })

  it('calls k.received once, after it returned, with the response; what k returns is the outcome', async () => {
    const server = f.serve(await startServer((req, res) => res.end(req.url)))
    const transport = f.use(new Transport())
    const returned = { value: false }
    const k = recorder(returned)
    const response = await thenOf(transport, new Request(`${server.origin}/a`), k, returned)
    expect(await response.text()).toBe('/a')
    expect(k.log).toEqual(['received 200 returned=true'])

    // What k.received returns (a promise too) or throws is the call's outcome.
    const other = new Response('other')
    expect(await roundTripThen(transport, new Request(`${server.origin}/b`), { received: async (r) => (await r.text(), other), failed: (e) => Promise.reject(e) })).toBe(other)
    const thrown = new Error('k threw')
    const error = await rejection(roundTripThen(transport, new Request(`${server.origin}/c`), { received: (r) => (void r.body?.cancel(), Promise.reject(thrown)), failed: (e) => Promise.reject(e) }))
    expect(error).toBe(thrown)
  })

  it('calls k.failed once, after it returned, for a failure at every stage: invalid request, aborted signal, closed transport, refused dial', async () => {
    const transport = f.use(new Transport())
    const port = await closedPort()
    const reason = new Error('already aborted')
    const cases: Array<[Transport, Request | string]> = [
      [transport, 'not a request'],
      [transport, new Request('http://127.0.0.1:1/', { signal: AbortSignal.abort(reason) })],
      [transport, new Request(`http://127.0.0.1:${port}/`)],
    ]
    const closed = new Transport()
    await closed.close()
    cases.push([closed, new Request('http://127.0.0.1:1/')])
    for (const [t, request] of cases) {
      const returned = { value: false }
      const k = recorder(returned)
      await rejection(thenOf(t, request as Request, k, returned))
      expect(k.log).toHaveLength(1)
      expect(k.log[0]).toMatch(/^failed \w+ returned=true$/)
    }
    // What k.failed returns is the outcome: a failure it recovers from resolves.
    const recovered = new Response('recovered')
    expect(await roundTripThen(transport, new Request(`http://127.0.0.1:${port}/`), { received: (r) => r, failed: () => recovered })).toBe(recovered)
  })

  it('rejects at once with the signal reason through k.failed when the signal aborts while waiting for the head, and k is called once', async () => {
    const inHandler = deferred()
    const server = f.serve(await startServer(() => inHandler.resolve())) // never answers
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const returned = { value: false }
    const k = recorder(returned)
    const promise = thenOf(transport, new Request(server.origin, { signal: controller.signal }), k, returned)
    await inHandler.promise
    const reason = new Error('stop')
    controller.abort(reason)
    expect(await rejection(promise)).toBe(reason)
    expect(k.log).toEqual(['failed Error returned=true'])
  })

  it('fails a request body that fails through k.failed, once', async () => {
    const server = f.serve(await startServer((req, res) => res.end('x')))
    const transport = f.use(new Transport())
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('body broke'))
      },
    })
    const returned = { value: false }
    const k = recorder(returned)
    await rejection(thenOf(transport, new Request(server.origin, { method: 'POST', body, duplex: 'half' } as RequestInit), k, returned))
    expect(k.log).toHaveLength(1)
    expect(k.log[0]).toMatch(/^failed \w+ returned=true$/)
  })

  it('calls k.received after the read that brought the head: a layer that discards a small body and sends again reuses the conn (a retried status, a redirect)', async () => {
    let n = 0
    const server = f.serve(await startServer((req, res) => {
      res.statusCode = n++ === 0 ? 503 : 200
      res.end('small body')
    }))
    // No dial raced against the wait for a conn released in this turn (after-turn.ts): the one conn serves both.
    const transport = f.use(new Transport({ raceDial: false }))
    const request = new Request(`${server.origin}/retried`)
    const response = await roundTripThen(transport, request, {
      received(first) {
        if (first.status !== 503) return first
        void first.body?.cancel()
        return transport.roundTrip(request)
      },
      failed: (e) => Promise.reject(e),
    })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('small body')
    expect(server.connections).toBe(1)
  })

  it('calls k.received once over HTTP/2 (h2c)', async () => {
    const server = f.serve(await startH2Server((req, res) => res.end(req.url)))
    const transport = f.use(new Transport({ protocols: ['h2c'] }))
    const returned = { value: false }
    const k = recorder(returned)
    const response = await thenOf(transport, new Request(`${server.origin}/h2`), k, returned)
    expect(await response.text()).toBe('/h2')
    expect(k.log).toEqual(['received 200 returned=true'])
  })
})
