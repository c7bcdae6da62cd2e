import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startProxy } from '../test/proxy.js'
import { startServer } from '../test/server.js'
import { get } from '../test/util.js'
import { proxyFromEnvironment, Transport } from './index.js'

const f = useFixture()

const choose = (env: Record<string, string>, url: string): string | undefined => {
  const value = proxyFromEnvironment(env)(new URL(url))
  return value === null || value === undefined ? undefined : String(value)
}

describe('proxyFromEnvironment', () => {
  it('uses HTTP_PROXY for http: and HTTPS_PROXY for https:, without falling back from one to the other', () => {
    const env = { HTTP_PROXY: 'http://plain.proxy:3128', HTTPS_PROXY: 'http://secure.proxy:3129' }
    expect(choose(env, 'http://example.com/')).toBe('http://plain.proxy:3128')
    expect(choose(env, 'https://example.com/')).toBe('http://secure.proxy:3129')
    expect(choose({ HTTP_PROXY: 'http://plain.proxy:3128' }, 'https://example.com/')).toBeUndefined()
    expect(choose({}, 'http://example.com/')).toBeUndefined()
  })

  it('prefers the lower-case variables when both are set and not empty', () => {
    const env = { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2', https_proxy: '', HTTPS_PROXY: 'http://upper:3', no_proxy: 'a.test', NO_PROXY: 'b.test' }
    expect(choose(env, 'http://example.com/')).toBe('http://lower:1')
    expect(choose(env, 'https://example.com/')).toBe('http://upper:3')
    expect(choose(env, 'http://a.test/')).toBeUndefined()
    expect(choose(env, 'http://b.test/')).toBe('http://lower:1')
  })

  it('reads a proxy without a scheme as http://', () => {
    expect(choose({ HTTP_PROXY: 'proxy.internal:3128' }, 'http://example.com/')).toBe('http://proxy.internal:3128')
  })

  it('bypasses the hosts NO_PROXY names, by name, port, address and range', () => {
    const env = { HTTP_PROXY: 'http://p:1', HTTPS_PROXY: 'http://p:1', NO_PROXY: '.corp.test,api.test:8443,10.0.0.0/8,[::1]' }
    expect(choose(env, 'http://git.corp.test/')).toBeUndefined()
    expect(choose(env, 'https://api.test:8443/')).toBeUndefined()
    expect(choose(env, 'https://api.test/')).toBe('http://p:1')
    expect(choose(env, 'http://10.3.4.5:8080/')).toBeUndefined()
    expect(choose(env, 'http://[::1]:8080/')).toBeUndefined()
    expect(choose(env, 'http://example.com/')).toBe('http://p:1')
  })

  it('throws RT_INVALID_OPTION for a proxy variable it cannot use, hiding credentials', () => {
    expect(() => proxyFromEnvironment({ HTTPS_PROXY: 'ftp://me:hunter2@proxy.test' })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    expect(() => proxyFromEnvironment({ HTTPS_PROXY: 'ftp://me:hunter2@proxy.test' })).toThrow(/HTTPS_PROXY.*\*\*\*@proxy\.test/)
    expect(() => proxyFromEnvironment({ HTTPS_PROXY: 'ftp://me:hunter2@proxy.test' })).not.toThrow(/hunter2/)
  })

  it('sends requests through the proxy it names, and NO_PROXY hosts directly', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url}`)))
    const proxy = f.serve(await startProxy())
    const proxied = f.use(new Transport({ proxy: proxyFromEnvironment({ HTTP_PROXY: proxy.url, NO_PROXY: 'localhost' }) }))
    expect(await get(proxied, `${target.origin}/a`)).toBe('/a')
    expect(await get(proxied, `${target.origin}/b`)).toBe('/b')
    expect(proxy.forwarded).toEqual([`${target.origin}/a`, `${target.origin}/b`])
    const direct = f.use(new Transport({ proxy: proxyFromEnvironment({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.0/8' }) }))
    expect(await get(direct, `${target.origin}/c`)).toBe('/c')
    expect(proxy.forwarded).toHaveLength(2)
    expect(Object.keys(direct.stats().hosts)).toEqual([target.origin])
  })
})
