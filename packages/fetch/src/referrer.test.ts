import { Transport } from '@roundtrip/transport'
import { describe, expect, it } from 'vitest'
import { listen } from '../test/servers.js'
import { createFetch } from './create-fetch.js'
import { parseReferrerPolicy, referrerFor } from './referrer.js'

describe('referrerFor (the fetch standard’s "determine request’s referrer")', () => {
  const page = 'https://shop.test/cart?id=1#top'
  it.each<[string, string, string | undefined]>([
    ['', 'https://shop.test/api', 'https://shop.test/cart?id=1'],
    ['', 'https://api.test/x', 'https://shop.test/'],
    ['', 'http://api.test/x', undefined],
    ['strict-origin-when-cross-origin', 'http://shop.test/api', undefined],
    ['no-referrer', 'https://shop.test/api', undefined],
    ['origin', 'https://shop.test/api', 'https://shop.test/'],
    ['unsafe-url', 'http://api.test/x', 'https://shop.test/cart?id=1'],
    ['strict-origin', 'http://api.test/x', undefined],
    ['strict-origin', 'https://api.test/x', 'https://shop.test/'],
    ['same-origin', 'https://api.test/x', undefined],
    ['same-origin', 'https://shop.test/x', 'https://shop.test/cart?id=1'],
    ['origin-when-cross-origin', 'http://api.test/x', 'https://shop.test/'],
    ['no-referrer-when-downgrade', 'http://api.test/x', undefined],
    ['no-referrer-when-downgrade', 'https://api.test/x', 'https://shop.test/cart?id=1'],
    // Loopback is potentially trustworthy: going there over HTTP is no downgrade.
    ['', 'http://127.0.0.1:8080/x', 'https://shop.test/'],
  ])('policy %j to %s → %s', (policy, target, expected) => {
    expect(referrerFor(page, policy, target)).toBe(expected)
  })

  it('never sends credentials or the fragment, and cuts a referrer over 4,096 bytes to its origin', () => {
    expect(referrerFor('http://u:p@a.test/p#f', 'unsafe-url', 'http://b.test/')).toBe('http://a.test/p')
    expect(referrerFor(`http://a.test/${'x'.repeat(5000)}`, 'unsafe-url', 'http://a.test/')).toBe('http://a.test/')
  })
})

describe('parseReferrerPolicy', () => {
  it.each<[string | null, string]>([
    [null, ''],
    ['', ''],
    ['origin', 'origin'],
    ['unsafe-url, bogus', 'unsafe-url'],
    ['no-referrer, unsafe-url', 'unsafe-url'],
    ['unsafe-url,,', 'unsafe-url'],
    [' Same-Origin ', 'same-origin'],
  ])('%j → %j', (value, policy) => {
    expect(parseReferrerPolicy(value)).toBe(policy)
  })
})

describe('createFetch: the referrer of a Request input survives the Host header being dropped', () => {
  it('sends the Referer of a Request that also carried a Host header', async () => {
    const server = await listen((req, res) => res.end(req.headers.referer ?? 'none'))
    const transport = new Transport()
    try {
      const url = `${server.url}/`
      const input = new Request(url, { headers: { host: 'elsewhere.test' }, referrer: `${url}page`, referrerPolicy: 'unsafe-url' })
      expect(await (await createFetch(transport)(input)).text()).toBe(`${url}page`)
    } finally {
      await transport.close()
      await server.close()
    }
  })
})
