import { describe, expect, it } from 'vitest'
import { deriveRequest } from './context.js'
import { getReplayableBody, withReplayableBody, type ReplayableBody } from './replayable-body.js'

const bytes = new TextEncoder().encode('hello')
const hello: ReplayableBody = { length: 5, getBody: () => bytes }

describe('declared replayable request bodies', () => {
  it('are undefined for a request nobody declared', () => {
    expect(getReplayableBody(new Request('http://a.test/', { method: 'POST', body: 'hello' }))).toBeUndefined()
  })

  it('return the declaration made for the request, on the same request', () => {
    const request = new Request('http://a.test/', { method: 'POST', body: bytes })
    expect(withReplayableBody(request, hello)).toBe(request)
    expect(getReplayableBody(request)).toBe(hello)
  })

  it('follow the body to a derived request that keeps it', async () => {
    const request = withReplayableBody(new Request('http://a.test/', { method: 'POST', body: bytes }), hello)
    const derived = deriveRequest(request, { headers: { 'x-more': '1' } })
    expect(getReplayableBody(derived)).toBe(hello)
    expect(await derived.text()).toBe('hello')
  })

  it('are dropped by a derived request that gets another body', () => {
    const request = withReplayableBody(new Request('http://a.test/', { method: 'POST', body: bytes }), hello)
    expect(getReplayableBody(deriveRequest(request, { body: 'other' }))).toBeUndefined()
  })

  it('reject a request without a body and a length that is not a byte count', () => {
    expect(() => withReplayableBody(new Request('http://a.test/'), hello)).toThrow(/has no body/)
    const post = () => new Request('http://a.test/', { method: 'POST', body: 'x' })
    for (const length of [-1, 1.5, Number.NaN, 2 ** 53, '5' as unknown as number]) {
      expect(() => withReplayableBody(post(), { length, getBody: () => bytes })).toThrow(TypeError)
    }
    expect(() => withReplayableBody(post(), { length: 1 } as ReplayableBody)).toThrow(/getBody/)
  })
})
