import { describe, expect, it } from 'vitest'
import { DEFAULT_REDACTED_QUERY, errorType, normalizeMethod, redactUrlFull, serverOf } from './attributes.js'

const secret = new Set(DEFAULT_REDACTED_QUERY)

describe('attributes', () => {
  it('redacts credentials as REDACTED:REDACTED and drops the fragment', () => {
    expect(redactUrlFull('https://user:pw@api.example/x?a=1#f', secret)).toBe('https://REDACTED:REDACTED@api.example/x?a=1')
    expect(redactUrlFull('https://api.example/a@b', secret)).toBe('https://api.example/a@b')
  })

  it('redacts only the values of the signature parameters, keeping the rest as sent', () => {
    expect(redactUrlFull('https://s3.example/k?AWSAccessKeyId=AK&Signature=s%2B1&Expires=9&sig&x=%20', secret)).toBe(
      'https://s3.example/k?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=9&sig&x=%20',
    )
  })

  it('gives server.address without IPv6 brackets and the port the scheme implies', () => {
    expect(serverOf(new URL('http://[::1]:8080/'))).toEqual({ 'server.address': '::1', 'server.port': 8080 })
    expect(serverOf(new URL('https://api.example/'))).toEqual({ 'server.address': 'api.example', 'server.port': 443 })
    expect(serverOf(new URL('http://api.example/'))).toEqual({ 'server.address': 'api.example', 'server.port': 80 })
  })

  it('knows the RFC 9110 methods and PATCH, case-sensitively', () => {
    expect(['GET', 'PATCH', 'CONNECT'].map(normalizeMethod)).toEqual(['GET', 'PATCH', 'CONNECT'])
    expect(['patch', 'PURGE'].map(normalizeMethod)).toEqual(['_OTHER', '_OTHER'])
  })

  it('types an error by its code, else its name, else _OTHER', () => {
    expect(errorType(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET')
    expect(errorType(new DOMException('stop', 'TimeoutError'))).toBe('TimeoutError')
    expect(errorType(new Error('plain'))).toBe('_OTHER')
    expect(errorType('a string')).toBe('_OTHER')
  })
})
