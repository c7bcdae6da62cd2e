import { describe, expect, it } from 'vitest'
import { isBadPort } from './bad-port.js'

describe('isBadPort', () => {
  it.each([
    ['http://127.0.0.1:6666/', true],
    ['http://127.0.0.1:10080/x?y=:1', true],
    ['https://[::1]:22/', true],
    ['http://example.test:1', true],
    ['http://127.0.0.1:8080/', false],
    ['http://127.0.0.1/a:22', false],
    ['http://[::22]/', false],
    ['https://example.test/', false],
    ['http://127.0.0.1:16666/', false],
    // No authority: what follows the scheme's colon is not a port.
    ['javascript:1', false],
    ['mailto:someone@example.test:25', false],
    // A `//` further on (in the path or query) does not start an authority.
    ['foo:x?u=http://h:25', false],
    ['foo:/x//h:25', false],
    ['foo://h?u=http://h:25/', false],
    ['foo://h:25?x', true],
    ['foo://h:25#f', true],
  ])('%s → %s', (url, bad) => {
    expect(isBadPort(new Request(url).url)).toBe(bad)
  })
})
