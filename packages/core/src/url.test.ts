import { describe, expect, it } from 'vitest'
import { redactUrl, stripFragment } from './url.js'

describe('stripFragment', () => {
  it('removes the fragment and keeps the query, as fetch does for a response URL', () => {
    expect(stripFragment('http://a.test/p?q=1#frag')).toBe('http://a.test/p?q=1')
    expect(stripFragment('http://a.test/#')).toBe('http://a.test/')
    expect(stripFragment('http://a.test/p')).toBe('http://a.test/p')
  })
})

describe('redactUrl', () => {
  it('removes credentials and leaves other URLs as they are', () => {
    expect(redactUrl('http://user:pw@a.test/p')).toBe('http://a.test/p')
    expect(redactUrl(new URL('http://a.test/p'))).toBe('http://a.test/p')
  })
})
