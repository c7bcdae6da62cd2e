import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { MockTransport } from '@roundtrip/testing'
import { describe, expect, it } from 'vitest'
import { Crawler } from '../src/crawler.js'

const html = (body: string): [number, string, { headers: Record<string, string> }] => [200, `<html><body>${body}</body></html>`, { headers: { 'content-type': 'text/html' } }]

describe('Crawler over a MockTransport', () => {
  it('checks pages and links of a mocked site: redirects, 404s, HEAD refused, a network error; every body read or cancelled', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: 'https://site.test/' }).reply(...html('<a href="/about">a</a> <a href="/old">o</a> <img src="https://cdn.test/logo.png"> <a href="https://api.test/down">d</a>'))
    // Fetched twice: as a page, and at the end of the /old redirect.
    mock.intercept({ url: 'https://site.test/about' }).reply(...html('<a href="/missing">m</a> <a href="/">home</a>')).times(2)
    mock.intercept({ url: 'https://site.test/old' }).reply(301, undefined, { headers: { location: '/about' } })
    mock.intercept({ url: 'https://site.test/missing' }).reply(404, 'no such page')
    mock.intercept({ method: 'HEAD', url: 'https://cdn.test/logo.png' }).reply(405)
    mock.intercept({ url: 'https://cdn.test/logo.png' }).reply(200, new Uint8Array(2048), { headers: { 'content-type': 'image/png' } })
    mock.intercept({ method: 'HEAD', url: 'https://api.test/down' }).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))

    const leaks: unknown[] = []
    const tracker = leakTracker({ onLeak: (leak) => leaks.push(leak) })
    try {
      const crawl = await new Crawler(createFetch(compose(mock, tracker)), { depth: 3, maxPages: 10, concurrency: 2 }).crawl('https://site.test/')
      const byUrl = Object.fromEntries(crawl.results.map((r) => [r.url, [r.status ?? r.error, r.page]]))
      expect(byUrl).toEqual({
        'https://site.test/': [200, true],
        'https://site.test/about': [200, true],
        // The redirect lands on an HTML page of the site, which the crawler parses as a page.
        'https://site.test/old': [200, true],
        'https://site.test/missing': [404, false],
        'https://cdn.test/logo.png': [200, false],
        'https://api.test/down': ['ECONNREFUSED', false],
      })
      expect(crawl.redirects).toEqual([{ from: 'https://site.test/old', to: 'https://site.test/about', status: 301 }])
      expect(tracker.outstanding()).toEqual([])
      expect(leaks).toEqual([])
      mock.assertNoPendingInterceptors()
    } finally {
      tracker.dispose()
    }
  })
})
