import { describe, expect, it } from 'vitest'
import { compose } from './compose.js'
import { carryRequest, deriveRequest, derivedFrom, getContext, withContext } from './context.js'
import { getReplayableBody, withReplayableBody } from './replayable-body.js'
import { roundTripper, type Middleware } from './round-tripper.js'

declare module './context.js' {
  interface RequestContext {
    tag?: string
    attempt?: number
  }
}

describe('per-request context', () => {
  it('is empty for a request that carries none', () => {
    expect(getContext(new Request('http://a.test/'))).toEqual({})
  })

  it('attaches values to a request and merges later values over earlier ones', () => {
    const request = withContext(new Request('http://a.test/'), { tag: 'one', attempt: 1 })
    withContext(request, { attempt: 2 })
    expect(getContext(request)).toEqual({ tag: 'one', attempt: 2 })
    expect(Object.isFrozen(getContext(request))).toBe(true)
  })

  it('survives a middleware that derives a new request, without changing the caller’s', async () => {
    const seen: Array<{ tag?: string; attempt?: number; ua: string | null }> = []
    const derive: Middleware = (next) =>
      roundTripper((request) =>
        next.roundTrip(deriveRequest(request, { headers: { 'user-agent': 'rt' } }, { attempt: 7 })),
      )
    const base = roundTripper(async (request) => {
      seen.push({ ...getContext(request), ua: request.headers.get('user-agent') })
      return new Response(null)
    })
    const original = withContext(new Request('http://a.test/'), { tag: 'kept' })
    await compose(base, derive).roundTrip(original)
    expect(seen).toEqual([{ tag: 'kept', attempt: 7, ua: 'rt' }])
    expect(getContext(original)).toEqual({ tag: 'kept' })
  })

  it('derives a request without context when there is none to carry', () => {
    const derived = deriveRequest(new Request('http://a.test/'), { method: 'POST', body: 'x' })
    expect(derived.method).toBe('POST')
    expect(getContext(derived)).toEqual({})
  })

  it('carries context and, when asked, the body declaration to a request built anew (a redirect hop)', () => {
    const declared = { length: 1, getBody: () => new Uint8Array([120]) }
    const from = withReplayableBody(withContext(new Request('http://a.test/', { method: 'POST', body: 'x' }), { tag: 'hop' }), declared)
    const kept = carryRequest(from, new Request('http://b.test/', { method: 'POST', body: declared.getBody() }), { body: true })
    expect(getContext(kept)).toEqual({ tag: 'hop' })
    expect(getReplayableBody(kept)).toBe(declared)
    const dropped = carryRequest(from, new Request('http://b.test/'), { body: false })
    expect(getContext(dropped)).toEqual({ tag: 'hop' })
    expect(getReplayableBody(dropped)).toBeUndefined()
  })

  it('remembers which request a derived or carried one was built from (derivedFrom), and nothing for one built otherwise', () => {
    const original = new Request('http://a.test/')
    const derived = deriveRequest(original, { headers: { 'x-a': '1' } })
    const hop = carryRequest(derived, new Request('http://b.test/'), { body: false })
    expect(derivedFrom(derived)).toBe(original)
    expect(derivedFrom(hop)).toBe(derived)
    expect(derivedFrom(original)).toBeUndefined()
    expect(derivedFrom(new Request(original))).toBeUndefined()
  })
})
