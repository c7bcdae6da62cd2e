import { describe, expect, it } from 'vitest'
import { chain } from './chain.js'
import { isRoundTripError } from './errors.js'
import { declareResolvesResponse, roundTripper, type Middleware, type RoundTripper } from './round-tripper.js'
import { compose } from './compose.js'
import { declareRoundTripThen, kRoundTripThen, reactWith, roundTripThen, type RoundTripContinuation } from './round-trip-then.js'

/** A continuation that records what it was given and hands on a tagged outcome. */
function recorder(log: string[]): RoundTripContinuation {
  return {
    received(response) {
      log.push(`received ${response.status}`)
      return new Response('k', { status: 201 })
    },
    failed(error) {
      log.push(`failed ${(error as Error).message}`)
      throw new Error('k failed')
    },
  }
}

/** A layer that takes its caller's continuation (kRoundTripThen, non-enumerable) and records the calls that came to it that way. */
function taking(log: string[], trusted = true): Middleware {
  return (next) => {
    const layer: RoundTripper = { roundTrip: (request) => next.roundTrip(request) }
    declareRoundTripThen(layer, (request, k) => {
      log.push('then')
      return roundTripThen(next, request, k)
    })
    return trusted ? declareResolvesResponse(layer) : layer
  }
}

describe('roundTripThen', () => {
  it('applies the continuation to a RoundTripper that does not declare kRoundTripThen, as a .then would', async () => {
    const log: string[] = []
    const ok = roundTripper(async () => new Response('ok', { status: 200 }))
    const response = await roundTripThen(ok, new Request('http://example.test/'), recorder(log))
    expect(response.status).toBe(201)
    const failing = roundTripper(async () => {
      throw new Error('down')
    })
    await expect(roundTripThen(failing, new Request('http://example.test/'), recorder(log))).rejects.toThrow('k failed')
    expect(log).toEqual(['received 200', 'failed down'])
  })

  it('hands a synchronous throw of the RoundTripper to the continuation, later', async () => {
    const log: string[] = []
    const throwing = {
      roundTrip(): Promise<Response> {
        throw new Error('sync')
      },
    }
    const promise = roundTripThen(throwing, new Request('http://example.test/'), recorder(log))
    expect(log).toEqual([])
    await expect(promise).rejects.toThrow('k failed')
    expect(log).toEqual(['failed sync'])
  })

  it("is passed on by chain()'s boundaries to a layer that declares kResolvesResponse, and to what the chain wraps", async () => {
    const log: string[] = []
    const base: RoundTripper = { roundTrip: async () => new Response('ok') }
    declareRoundTripThen(base, (_request, k) => {
      log.push('base then')
      return Promise.resolve(new Response('ok')).then((r) => k.received(r))
    })
    const client = chain(taking(log), taking(log))(base)
    const response = await roundTripThen(client, new Request('http://example.test/'), recorder(log))
    expect(response.status).toBe(201)
    expect(log).toEqual(['then', 'then', 'base then', 'received 200'])
  })

  it('is passed on by compose(): a composed client hands the continuation to its outermost layer and on down', async () => {
    const log: string[] = []
    const base: RoundTripper & { close(): Promise<void> } = { roundTrip: async () => new Response('ok'), close: async () => {} }
    declareRoundTripThen(base, (_request, k) => {
      log.push('base then')
      return Promise.resolve(new Response('ok')).then((r) => k.received(r))
    })
    const client = compose(base, taking(log), taking(log))
    expect(Object.prototype.propertyIsEnumerable.call(client, kRoundTripThen)).toBe(false)
    const response = await roundTripThen(client, new Request('http://example.test/'), recorder(log))
    expect(response.status).toBe(201)
    expect(log).toEqual(['then', 'then', 'base then', 'received 200'])
  })

  it("is not passed on by a chain() boundary to a layer it checks: the check still names a layer that resolves with something else", async () => {
    const log: string[] = []
    const bad: Middleware = () => ({ roundTrip: async () => 'nope' as unknown as Response })
    const client = chain(taking(log, false), bad)(roundTripper(async () => new Response('ok')))
    const error: unknown = await roundTripThen(client, new Request('http://example.test/'), {
      received: (r) => r,
      failed: (e) => {
        throw e
      },
    }).catch((e: unknown) => e)
    expect(log).toEqual([])
    expect(isRoundTripError(error, 'RT_INVALID_MIDDLEWARE')).toBe(true)
    expect((error as Error).message).toContain('middleware #2')
  })

  it('still refuses, through a chain() boundary, a second send of the same request with a body', async () => {
    const log: string[] = []
    const twice: Middleware = (next) =>
      declareResolvesResponse({
        roundTrip: async (request: Request) => {
          await roundTripThen(next, request, recorder(log))
          return roundTripThen(next, request, recorder(log))
        },
      })
    const client = chain(twice)(roundTripper(async () => new Response('ok')))
    const error: unknown = await client.roundTrip(new Request('http://example.test/', { method: 'POST', body: 'x' })).catch((e: unknown) => e)
    expect((error as Error).message).toBe('k failed')
    expect(log[0]).toBe('received 200')
    expect(log[1]).toContain('called next twice with the same request')
  })
})

/** Replaces the `roundTrip` of `layer` after it was made, as instrumentation does; `hit` counts the calls that reach the replacement. */
type Patch = (layer: RoundTripper, hit: () => void) => RoundTripper
const patches: Array<[string, Patch]> = [
  [
    'on the instance (vi.spyOn, a monkeypatch)',
    (layer, hit) => {
      const original = layer.roundTrip
      layer.roundTrip = function (this: RoundTripper, request: Request) {
        hit()
        return original.call(this, request)
      }
      return layer
    },
  ],
  [
    'by Object.create(layer) with a roundTrip of its own',
    (layer, hit) => {
      const derived = Object.create(layer) as RoundTripper
      derived.roundTrip = (request) => {
        hit()
        return layer.roundTrip(request)
      }
      return derived
    },
  ],
  [
    'by a Proxy',
    (layer, hit) =>
      new Proxy(layer, {
        get(target, key, receiver) {
          if (key !== 'roundTrip') return Reflect.get(target, key, receiver) as unknown
          return (request: Request) => {
            hit()
            return target.roundTrip(request)
          }
        },
      }),
  ],
]

describe('roundTripThen over a layer whose roundTrip was replaced after the layer was made', () => {
  const base = (): RoundTripper => roundTripper(async () => new Response('ok'))
  const layers: Array<[string, () => RoundTripper]> = [
    ['a layer that declares kRoundTripThen', () => taking([])(base())],
    ["a chain()'s boundary", () => chain(taking([]))(base())],
  ]
  for (const [what, make] of layers) {
    for (const [how, patch] of patches) {
      it(`calls the replacement, not the declared method: ${what}, replaced ${how}`, async () => {
        let hits = 0
        const patched = patch(make(), () => hits++)
        const log: string[] = []
        const response = await roundTripThen(patched, new Request('http://example.test/'), recorder(log))
        expect(response.status).toBe(201)
        expect(log).toEqual(['received 200'])
        expect(hits).toBe(1)
      })
    }
  }

  it('ignores a declaration that is not one standing for the current roundTrip (a bare method, the older form)', async () => {
    let called = 0
    const layer = roundTripper(async () => new Response('ok'))
    Object.defineProperty(layer, kRoundTripThen, {
      value: () => {
        called++
        return Promise.reject(new Error('declared method'))
      },
    })
    const log: string[] = []
    expect((await roundTripThen(layer, new Request('http://example.test/'), recorder(log))).status).toBe(201)
    expect(called).toBe(0)
  })
})

describe('reactWith', () => {
  it("applies a caller's reaction to a promise, as k's methods, and returns the promise as it is without one", async () => {
    const response = new Response('ok')
    const seen: unknown[] = []
    const k = {
      received(this: unknown, r: Response) {
        seen.push(this === k, r)
        return new Response('reacted')
      },
      failed(this: unknown, error: unknown): never {
        seen.push(this === k, error)
        throw new Error('failed reacted')
      },
    }
    expect(await (await reactWith(Promise.resolve(response), k)).text()).toBe('reacted')
    const boom = new Error('boom')
    await expect(reactWith(Promise.reject(boom), k)).rejects.toThrow('failed reacted')
    expect(seen).toEqual([true, response, true, boom])
    const alone = Promise.resolve(response)
    expect(reactWith(alone, undefined)).toBe(alone)
  })
})
