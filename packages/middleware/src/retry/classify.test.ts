import { RoundTripError } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { classifyFailure, retryAfterMs } from './classify.js'

describe('classifyFailure', () => {
  it('finds the code on the error or its cause chain', () => {
    expect(classifyFailure(new RoundTripError('RT_CONNECT_REFUSED', 'x'), false)).toBe('unsent')
    expect(classifyFailure(new TypeError('fetch failed', { cause: new RoundTripError('RT_SOCKET_CLOSED', 'x') }), false)).toBe('maybe-processed')
    expect(classifyFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), false)).toBe('unsent')
  })

  it('never retries protocol, decoding, body and invalid-request errors, aborts or unknown errors', () => {
    for (const code of ['RT_PROTOCOL_ERROR', 'RT_DECODING_ERROR', 'RT_REQUEST_BODY_ERROR', 'RT_INVALID_REQUEST', 'RT_INVALID_STATUS']) {
      expect(classifyFailure(new RoundTripError(code, 'x', { cause: Object.assign(new Error(), { code: 'ECONNRESET' }) }), false)).toBe('final')
    }
    expect(classifyFailure(new DOMException('aborted', 'AbortError'), false)).toBe('final')
    expect(classifyFailure(new Error('what'), false)).toBe('final')
    expect(classifyFailure(new RoundTripError('RT_CONNECT_REFUSED', 'x'), true)).toBe('final')
  })

  it('treats a TimeoutError from below (a per-attempt deadline) as maybe processed', () => {
    expect(classifyFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), false)).toBe('maybe-processed')
  })
})

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0)
  it('reads delay-seconds and the three HTTP date forms', () => {
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs(' 0 ', now)).toBe(0)
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000)
    expect(retryAfterMs('Thursday, 01-Jan-26 00:00:05 GMT', now)).toBe(5_000)
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0)
  })

  it('ignores an absent or malformed value', () => {
    for (const value of [null, '', '-1', '1.5', 'soon', '2026-01-01']) expect(retryAfterMs(value, now)).toBeUndefined()
  })
})
