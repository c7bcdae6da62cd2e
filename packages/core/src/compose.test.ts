import { describe, expect, it } from 'vitest'
import { compose } from './compose.js'
import { isRoundTripError } from './errors.js'
import { roundTripper, type Middleware, type RoundTripper } from './round-tripper.js'

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
