import { describe, expect, it } from 'vitest'
import { chain } from './chain.js'
import { compose } from './compose.js'
import { isRoundTripError } from './errors.js'
import { kRejectsOnAbort, kResolvesResponse, rejectsOnAbort, roundTripper, type Middleware, type RoundTripper } from './round-tripper.js'

function tagging(name: string, log: string[]): Middleware {
  return (next) =>
    roundTripper(async (request) => {
      log.push(`${name} request`)
      const response = await next.roundTrip(request)
      log.push(`${name} response`)
      return response
    })
}

describe('compose', () => {
  it('runs the first middleware listed outermost: it sees the request first and the response last', async () => {
    const log: string[] = []
    const base = roundTripper(async () => {
      log.push('base')
      return new Response('ok')
    })
    const client = compose(base, tagging('a', log), tagging('b', log), tagging('c', log))
    const response = await client.roundTrip(new Request('http://example.test/'))
    expect(await response.text()).toBe('ok')
    expect(log).toEqual(['a request', 'b request', 'c request', 'base', 'c response', 'b response', 'a response'])
  })

  it('with no middleware is the base itself in behaviour', async () => {
    const base = roundTripper(async (request) => new Response(request.url))
    const response = await compose(base).roundTrip(new Request('http://example.test/x'))
    expect(await response.text()).toBe('http://example.test/x')
  })

  it('forwards closeIdleConnections, close and Symbol.asyncDispose to the base', async () => {
    const calls: string[] = []
    const base: RoundTripper & { closeIdleConnections(): void; close(): Promise<void> } = {
      roundTrip: async () => new Response(null),
      closeIdleConnections: () => calls.push('idle'),
      close: async () => {
        calls.push('close')
      },
    }
    const client = compose(base, tagging('a', []))
    client.closeIdleConnections()
    await client.close()
    await client[Symbol.asyncDispose]()
    expect(calls).toEqual(['idle', 'close', 'close'])
  })

  it('uses the base Symbol.asyncDispose when the base has no close', async () => {
    let disposed = 0
    const base = {
      roundTrip: async () => new Response(null),
      [Symbol.asyncDispose]: async () => {
        disposed++
      },
    }
    await compose(base).close()
    expect(disposed).toBe(1)
  })

  it('does nothing on close when the base has no lifecycle methods', async () => {
    const client = compose(roundTripper(async () => new Response(null)))
    expect(() => client.closeIdleConnections()).not.toThrow()
    await expect(client.close()).resolves.toBeUndefined()
  })

  it('rejects a middleware that does not return a RoundTripper, naming it', () => {
    function broken(): RoundTripper {
      return {} as RoundTripper
    }
    const base = roundTripper(async () => new Response(null))
    let error: unknown
    try {
      compose(base, tagging('a', []), broken)
    } catch (e) {
      error = e
    }
    expect(isRoundTripError(error, 'RT_INVALID_MIDDLEWARE')).toBe(true)
    expect((error as Error).message).toContain('middleware #2 (broken)')
  })

  it('rejects a base that is not a RoundTripper and a middleware that is not a function', () => {
    expect(() => compose({} as RoundTripper)).toThrow(/base is not a RoundTripper/)
    const base = roundTripper(async () => new Response(null))
    expect(() => compose(base, 42 as unknown as Middleware)).toThrow(/middleware #1 is not a function/)
  })
})

describe('roundTripper', () => {
  it('makes a RoundTripper from a function and rejects a non-function', async () => {
    const rt = roundTripper(async (request) => new Response(request.method))
    expect(await (await rt.roundTrip(new Request('http://example.test/', { method: 'PUT' }))).text()).toBe('PUT')
    expect(() => roundTripper('nope' as never)).toThrow(TypeError)
  })
})

const ok = roundTripper(async () => new Response('ok'))

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('chain', () => {
  it('runs the first middleware listed outermost, as compose does', async () => {
    const log: string[] = []
    const base = roundTripper(async () => {
      log.push('base')
      return new Response('ok')
    })
    const client = chain(tagging('a', log), tagging('b', log), tagging('c', log))(base)
    expect(await (await client.roundTrip(new Request('http://example.test/'))).text()).toBe('ok')
    expect(log).toEqual(['a request', 'b request', 'c request', 'base', 'c response', 'b response', 'a response'])
  })

  it('is itself a layer: compose(base, x, chain(a, b), y) runs x, a, b, y in that order', async () => {
    const log: string[] = []
    const client = compose(ok, tagging('x', log), chain(tagging('a', log), chain(tagging('b', log))), tagging('y', log))
    await (await client.roundTrip(new Request('http://example.test/'))).text()
    expect(log).toEqual(['x request', 'a request', 'b request', 'y request', 'y response', 'b response', 'a response', 'x response'])
  })

  it('with no middleware passes the request to next', async () => {
    const base = roundTripper(async (request) => new Response(request.url))
    expect(await (await chain()(base).roundTrip(new Request('http://example.test/x'))).text()).toBe('http://example.test/x')
  })

  it('names a layer that resolves with something other than a Response', async () => {
    const notAResponse: Middleware = function notAResponse() {
      return roundTripper(async () => ({ status: 200 }) as unknown as Response)
    }
    const client = chain(tagging('a', []), notAResponse)(ok)
    const error = await rejection(client.roundTrip(new Request('http://example.test/')))
    expect(isRoundTripError(error, 'RT_INVALID_MIDDLEWARE')).toBe(true)
    expect((error as Error).message).toMatch(/^middleware #2 \(notAResponse\) resolved with an object \(Object\) instead of a Response \(GET http:\/\/example.test\/\)/)
  })

  it('trusts a layer that declares kResolvesResponse, and still checks an undeclared layer below it', async () => {
    const passing = (name: string): Middleware =>
      Object.defineProperty((next: RoundTripper) => ({ roundTrip: (request: Request) => next.roundTrip(request), [kResolvesResponse]: true }), 'name', { value: name })
    const notAResponse: Middleware = function notAResponse() {
      return roundTripper(async () => ({ status: 200 }) as unknown as Response)
    }
    // The offender below a trusted layer is named at its own boundary.
    const checked = await rejection(chain(passing('trusted'), notAResponse)(ok).roundTrip(new Request('http://example.test/')))
    expect((checked as Error).message).toMatch(/^middleware #2 \(notAResponse\) resolved with an object/)
    // A declared layer's own result is not checked: the declaration is its author's promise.
    const liar: Middleware = function liar() {
      return { roundTrip: async () => 'not a response' as unknown as Response, [kResolvesResponse]: true }
    }
    expect(await chain(passing('trusted'), liar)(ok).roundTrip(new Request('http://example.test/'))).toBe('not a response')
    const response = await chain(passing('one'), passing('two'))(ok).roundTrip(new Request('http://example.test/'))
    expect(response).toBeInstanceOf(Response)
  })

  it('declares kRejectsOnAbort when its outermost layer does (each boundary passes on what the layer below it declares), as compose does', () => {
    type Declaring = RoundTripper & { [kRejectsOnAbort]: boolean }
    const prompt: Declaring = { roundTrip: async () => new Response('ok'), [kRejectsOnAbort]: true }
    const passing = (next: RoundTripper): Declaring => ({ roundTrip: (request: Request) => next.roundTrip(request), [kRejectsOnAbort]: rejectsOnAbort(next) })
    const plain: Middleware = (next) => ({ roundTrip: (request: Request) => next.roundTrip(request) })
    // Each layer sees, as its next, a boundary that declares what the layer below declares.
    const seen: boolean[] = []
    const probe: Middleware = (next) => {
      seen.push(rejectsOnAbort(next))
      return passing(next)
    }
    expect(rejectsOnAbort(chain(probe, passing, probe)(prompt))).toBe(true)
    expect(seen).toEqual([true, true])
    expect(rejectsOnAbort(chain(passing, plain)(prompt))).toBe(false)
    expect(rejectsOnAbort(chain(passing)(ok))).toBe(false)
    expect(rejectsOnAbort(chain()(prompt))).toBe(true)
    expect(rejectsOnAbort(compose(prompt, passing, chain(passing)))).toBe(true)
    expect(rejectsOnAbort(compose(prompt, plain))).toBe(false)
    expect(rejectsOnAbort(compose(ok))).toBe(false)
  })

  it('declares kRejectsOnAbort and kResolvesResponse so that a spread copy ({ ...next, roundTrip }) does not inherit them', () => {
    const prompt: RoundTripper & { [kRejectsOnAbort]: true } = { roundTrip: async () => new Response('ok'), [kRejectsOnAbort]: true }
    const nexts: RoundTripper[] = []
    const probe: Middleware = (next) => {
      nexts.push(next)
      return next
    }
    // chain() hands each layer a boundary over the layer below, and returns one over the outermost.
    const chained = chain(probe)(prompt)
    const boundary = nexts[0]!
    expect(boundary).not.toBe(prompt)
    const composed = compose(prompt, probe)
    for (const declared of [composed, boundary, chained]) {
      expect(rejectsOnAbort(declared)).toBe(true)
      const copy = { ...declared, roundTrip: (request: Request) => declared.roundTrip(request) }
      expect(rejectsOnAbort(copy)).toBe(false)
      expect((copy as { [kResolvesResponse]?: unknown })[kResolvesResponse]).toBeUndefined()
    }
  })

  it('names a layer that calls next twice with the same request that has a body', async () => {
    let sent = 0
    const base = roundTripper(async (request) => {
      sent++
      return new Response(await request.text())
    })
    const twice: Middleware = function twice(next) {
      return roundTripper(async (request) => {
        const first = await next.roundTrip(request)
        await first.body?.cancel()
        return next.roundTrip(request)
      })
    }
    const client = chain(twice)(base)
    const error = await rejection(client.roundTrip(new Request('http://example.test/', { method: 'POST', body: 'x' })))
    expect(isRoundTripError(error, 'RT_INVALID_MIDDLEWARE')).toBe(true)
    expect((error as Error).message).toContain('middleware #1 (twice) called next twice with the same request, whose body was already sent')
    expect(sent).toBe(1)
  })

  it('lets a layer call next again with a bodiless request (a retry)', async () => {
    let sent = 0
    const base = roundTripper(async () => new Response(String(++sent)))
    const again: Middleware = (next) =>
      roundTripper(async (request) => {
        await (await next.roundTrip(request)).text()
        return next.roundTrip(request)
      })
    expect(await (await chain(again)(base).roundTrip(new Request('http://example.test/'))).text()).toBe('2')
  })

  it('turns a layer that throws synchronously into a rejection', async () => {
    const thrower: Middleware = () => ({
      roundTrip: () => {
        throw new Error('boom')
      },
    })
    const client = chain(thrower)(ok)
    let result: Promise<Response> | undefined
    expect(() => (result = client.roundTrip(new Request('http://example.test/')))).not.toThrow()
    await expect(result).rejects.toThrow('boom')
  })

  it('rejects a middleware that is not a function at once, and one that returns no RoundTripper when applied', () => {
    expect(() => chain(tagging('a', []), 'x' as unknown as Middleware)).toThrow(/chain: middleware #2 is not a function/)
    function broken(): RoundTripper {
      return {} as RoundTripper
    }
    let error: unknown
    try {
      chain(broken)(ok)
    } catch (e) {
      error = e
    }
    expect(isRoundTripError(error, 'RT_INVALID_MIDDLEWARE')).toBe(true)
    expect((error as Error).message).toBe('chain: middleware #1 (broken) did not return a RoundTripper')
    expect(() => chain()({} as RoundTripper)).toThrow(/next is not a RoundTripper/)
  })
})
