import { describe, expect, it } from 'vitest'
import { chain } from './chain.js'
import { isRoundTripError } from './errors.js'
import { declareResolvesResponse, roundTripper, type Middleware, type RoundTripper } from './round-tripper.js'
import { kRoundTripThen, roundTripThen, type RoundTripContinuation } from './round-trip-then.js'

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
    Object.defineProperty(layer, kRoundTripThen, {
      value: (request: Request, k: RoundTripContinuation) => {
        log.push('then')
        return roundTripThen(next, request, k)
      },
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
    Object.defineProperty(base, kRoundTripThen, {
      value: (request: Request, k: RoundTripContinuation) => {
        log.push('base then')
        return Promise.resolve(new Response('ok')).then((r) => k.received(r))
      },
    })
    const client = chain(taking(log), taking(log))(base)
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
