import { connect } from 'node:net'
import { withContext } from '@roundtrip/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startProxy } from '../test/proxy.js'
import { startServer } from '../test/server.js'
import { certificate, httpsServer } from '../test/tls.js'
import { busyCounts, closedPort, get, rejection } from '../test/util.js'
import { Transport, type ClientTrace, type DialInfo } from './index.js'

const f = useFixture()

let pem: { key: string; cert: string }
beforeAll(async () => {
  pem = await certificate()
})

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

describe('Transport through an HTTP proxy', () => {
  it('forwards 100 sequential http: requests in absolute-form over one connection to the proxy', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url} host=${req.headers.host}`)))
    const proxy = f.serve(await startProxy())
    const transport = f.use(new Transport({ raceDial: false, proxy: proxy.url }))
    for (let i = 0; i < 100; i++) {
      expect(await get(transport, `${target.origin}/n${i}`)).toBe(`/n${i} host=127.0.0.1:${target.port}`)
    }
    expect(proxy.connections()).toBe(1)
    expect(proxy.connects).toEqual([])
    expect(proxy.forwarded).toHaveLength(100)
    expect(proxy.forwarded[0]).toBe(`${target.origin}/n0`)
    expect(Object.keys(transport.stats().hosts)).toEqual([`http://* via ${proxy.url}`])
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 100, reusedRequests: 99 })
  })

  it('with proxyTunnel, sends sequential http: requests in origin-form through one CONNECT tunnel per target', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url} host=${req.headers.host}`)))
    const other = f.serve(await startServer((req, res) => res.end('other')))
    const proxy = f.serve(await startProxy({ auth: { username: 'me', password: 'pw' } }))
    const proxyUrl = `http://me:pw@127.0.0.1:${proxy.port}`
    const transport = f.use(new Transport({ raceDial: false, proxy: proxyUrl, proxyTunnel: true }))
    for (let i = 0; i < 20; i++) {
      expect(await get(transport, `${target.origin}/n${i}`)).toBe(`/n${i} host=127.0.0.1:${target.port}`)
    }
    expect(await get(transport, other.origin)).toBe('other')
    expect(proxy.forwarded).toEqual([])
    expect(proxy.connects).toEqual([`127.0.0.1:${target.port}`, `127.0.0.1:${other.port}`])
    expect(target.connections).toBe(1)
    // One pool per target (a tunnel each), keyed by the target and the proxy (credentials hidden, told apart by a hash).
    const keys = Object.keys(transport.stats().hosts).map((key) => key.replace(/#[0-9a-f]+$/, ''))
    expect(keys.sort()).toEqual([target.origin, other.origin].map((origin) => `${origin} via http://***@127.0.0.1:${proxy.port}`).sort())
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 21, reusedRequests: 19 })
  })

  it('shares the connections to the proxy between http: targets', async () => {
    const a = f.serve(await startServer((_req, res) => res.end('a')))
    const b = f.serve(await startServer((_req, res) => res.end('b')))
    const proxy = f.serve(await startProxy())
    const transport = f.use(new Transport({ raceDial: false, proxy: proxy.url }))
    expect(await get(transport, `${a.origin}/`)).toBe('a')
    expect(await get(transport, `${b.origin}/`)).toBe('b')
    expect(proxy.connections()).toBe(1)
  })

  it('sends 100 sequential https: requests through one CONNECT tunnel, with TLS to the target over it', async () => {
    const target = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy())
    const transport = f.use(new Transport({ raceDial: false, proxy: proxy.url, tls: { ca: pem.cert } }))
    const states: Array<string | false | null> = []
    const tunnels: string[] = []
    const trace: ClientTrace = {
      tlsHandshakeDone: (state) => states.push(state.alpnProtocol),
      proxyConnectStart: (info) => tunnels.push(`start ${info.target}`),
      proxyConnectDone: (info, error) => tunnels.push(`done ${info.target} ${error?.message ?? 'ok'}`),
    }
    for (let i = 0; i < 100; i++) {
      const response = await transport.roundTrip(withContext(new Request(`${target.origin}/s${i}`), { trace }))
      expect(await response.text()).toBe(`secure /s${i}`)
    }
    const authority = target.origin.slice('https://'.length)
    expect(proxy.connects).toEqual([authority])
    expect(proxy.connections()).toBe(1)
    expect(target.connections()).toBe(1)
    expect(states).toEqual(['http/1.1'])
    expect(tunnels).toEqual([`start ${authority}`, `done ${authority} ok`])
    expect(Object.keys(transport.stats().hosts)).toEqual([`${target.origin} via ${proxy.url}`])
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('with raceDial on (the default), races a second CONNECT tunnel for sequential https: requests and alternates the two', async () => {
    const target = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy())
    const transport = f.use(new Transport({ proxy: proxy.url, tls: { ca: pem.cert } }))
    const tunnels: string[] = []
    const trace: ClientTrace = { proxyConnectDone: (info, error) => tunnels.push(`${info.target} ${error?.message ?? 'ok'}`) }
    for (let i = 0; i < 4; i++) {
      const response = await transport.roundTrip(withContext(new Request(`${target.origin}/s${i}`), { trace }))
      expect(await response.text()).toBe(`secure /s${i}`)
    }
    const authority = target.origin.slice('https://'.length)
    expect(tunnels).toEqual([`${authority} ok`, `${authority} ok`])
    expect(proxy.connects).toEqual([authority, authority])
    expect(target.connections()).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 4, active: 0, idle: 2, dialing: 0 })
  })

  it('sends the credentials of the proxy URL as Proxy-Authorization, on forwarded requests and on CONNECT', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`seen ${req.headers['proxy-authorization'] ?? 'none'}`)))
    const secure = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy({ auth: { username: 'user', password: 'p@ss word' } }))
    const url = new URL(proxy.url)
    url.username = 'user'
    url.password = encodeURIComponent('p@ss word')
    const transport = f.use(new Transport({ proxy: url.href, tls: { ca: pem.cert } }))
    // The proxy strips Proxy-Authorization before forwarding: the target does not see it.
    expect(await get(transport, `${target.origin}/`)).toBe('seen none')
    expect(await get(transport, `${secure.origin}/x`)).toBe('secure /x')
    expect(proxy.authorizations).toEqual([basic('user', 'p@ss word'), basic('user', 'p@ss word')])
  })

  it('adds proxyConnectHeaders to CONNECT, from an object or a function of the target', async () => {
    const secure = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy())
    const authority = secure.origin.slice('https://'.length)
    const fixed = f.use(new Transport({ proxy: proxy.url, tls: { ca: pem.cert }, proxyConnectHeaders: { 'x-tenant': 'blue' } }))
    expect(await get(fixed, `${secure.origin}/`)).toBe('secure /')
    const calls: string[][] = []
    const computed = f.use(new Transport({
      proxy: proxy.url,
      tls: { ca: pem.cert },
      proxyConnectHeaders: async (target, proxyUrl) => {
        calls.push([target, proxyUrl])
        return { 'x-tenant': `for ${target}` }
      },
    }))
    expect(await get(computed, `${secure.origin}/`)).toBe('secure /')
    expect(proxy.heads.map((h) => h['x-tenant'])).toEqual(['blue', `for ${authority}`])
    expect(calls).toEqual([[authority, proxy.url]])
  })

  it('rejects with RT_PROXY_CONNECT_FAILED and status 407 when the proxy refuses the credentials, asking once', async () => {
    const secure = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy({ auth: { username: 'user', password: 'right' } }))
    const transport = f.use(new Transport({ proxy: proxy.url.replace('//', '//user:wrong-secret@'), tls: { ca: pem.cert } }))
    const error = await rejection(transport.roundTrip(new Request(`${secure.origin}/`)))
    expect(error.code).toBe('RT_PROXY_CONNECT_FAILED')
    expect((error as { status?: number }).status).toBe(407)
    expect(error.message).toContain(`http://***@127.0.0.1:${proxy.port}`)
    expect(error.message).toContain('407')
    expect(error.message).not.toContain('wrong-secret')
    expect(proxy.connects).toHaveLength(1)
    expect(secure.connections()).toBe(0)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('returns the proxy\'s 407 response to a forwarded http: request as a response', async () => {
    const target = f.serve(await startServer((_req, res) => res.end('never')))
    const proxy = f.serve(await startProxy({ auth: { username: 'user', password: 'right' } }))
    const transport = f.use(new Transport({ proxy: proxy.url }))
    const response = await transport.roundTrip(new Request(`${target.origin}/`))
    expect(response.status).toBe(407)
    expect(response.headers.get('proxy-authenticate')).toMatch(/^Basic/)
    await response.arrayBuffer()
    expect(target.connections).toBe(0)
  })

  it('reaches an https:// proxy over TLS with proxyTls, for http: and https: targets', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`plain ${req.url}`)))
    const secure = f.serve(await httpsServer(pem))
    const proxy = f.serve(await startProxy({ tls: pem }))
    const transport = f.use(new Transport({ proxy: proxy.url, proxyTls: { ca: pem.cert }, tls: { ca: pem.cert } }))
    const handshakes: string[] = []
    const trace: ClientTrace = { tlsHandshakeStart: () => handshakes.push('start') }
    expect(await (await transport.roundTrip(withContext(new Request(`${target.origin}/p`), { trace }))).text()).toBe('plain /p')
    expect(await (await transport.roundTrip(withContext(new Request(`${secure.origin}/s`), { trace }))).text()).toBe('secure /s')
    // One handshake with the proxy per connection, and one with the target inside the tunnel.
    expect(handshakes).toEqual(['start', 'start', 'start'])
    expect(proxy.connections()).toBe(2)
  })

  it('rejects a proxy certificate it does not trust with RT_CONNECT_FAILED naming the proxy', async () => {
    const target = f.serve(await startServer((_req, res) => res.end('never')))
    const proxy = f.serve(await startProxy({ tls: pem }))
    const transport = f.use(new Transport({ proxy: proxy.url }))
    const error = await rejection(transport.roundTrip(new Request(`${target.origin}/`)))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain(`proxy ${proxy.url}`)
    expect(error.message).toMatch(/self[- ]signed/)
  })

  it('asks the dial hook for the socket to the proxy, with the proxy’s scheme as protocol', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url}`)))
    const proxy = f.serve(await startProxy())
    const infos: DialInfo[] = []
    const transport = f.use(new Transport({
      proxy: proxy.url,
      dial: (info) => {
        infos.push(info)
        return connect(info.port, info.hostname)
      },
    }))
    expect(await get(transport, `${target.origin}/d`)).toBe('/d')
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: proxy.port, key: `http://* via ${proxy.url}` })
    expect(proxy.forwarded).toEqual([`${target.origin}/d`])
    // An https: target through the same http:// proxy: the socket asked for still goes to the proxy, in plain http.
    const port = await closedPort()
    await rejection(transport.roundTrip(new Request(`https://127.0.0.1:${port}/`)))
    expect(infos[1]).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: proxy.port, key: `https://127.0.0.1:${port} via ${proxy.url}` })
  })

  it('rejects with RT_CONNECT_REFUSED naming the proxy when nothing listens there', async () => {
    const port = await closedPort()
    const transport = f.use(new Transport({ proxy: `http://user:secret@127.0.0.1:${port}` }))
    const error = await rejection(transport.roundTrip(new Request('http://example.test/')))
    expect(error.code).toBe('RT_CONNECT_REFUSED')
    expect(error.message).toContain(`proxy http://***@127.0.0.1:${port}`)
    expect(error.message).not.toContain('secret')
  })
})

describe('Transport proxy function', () => {
  it('chooses the proxy per request; null and undefined connect directly', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url}`)))
    const proxy = f.serve(await startProxy())
    const seen: string[] = []
    const transport = f.use(new Transport({
      proxy: (url) => {
        seen.push(url.href)
        return url.pathname.startsWith('/via') ? new URL(proxy.url) : url.pathname === '/null' ? null : undefined
      },
    }))
    for (const path of ['/via1', '/direct', '/via2', '/null']) expect(await get(transport, `${target.origin}${path}`)).toBe(path)
    expect(seen).toEqual(['/via1', '/direct', '/via2', '/null'].map((p) => `${target.origin}${p}`))
    expect(proxy.forwarded).toEqual([`${target.origin}/via1`, `${target.origin}/via2`])
    // One connection through the proxy, one direct.
    expect(target.connections).toBe(2)
    expect(Object.keys(transport.stats().hosts).sort()).toEqual([`http://* via ${proxy.url}`, target.origin].sort())
  })

  it('rejects a request whose proxy the function gives with an unknown scheme, with RT_INVALID_REQUEST', async () => {
    const transport = f.use(new Transport({ proxy: () => 'ftp://user:secret@proxy.test:21' }))
    const error = await rejection(transport.roundTrip(new Request('http://example.test/')))
    expect(error.code).toBe('RT_INVALID_REQUEST')
    expect(error.message).toContain('ftp:')
    expect(error.message).not.toContain('secret')
  })
})

describe('Transport proxy options', () => {
  it('rejects an unknown proxy scheme, a value that is not a URL and a wrong type with RT_INVALID_OPTION', () => {
    for (const proxy of ['ftp://proxy.test', 'not a url', 42, {}]) {
      expect(() => new Transport({ proxy: proxy as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    }
    expect(() => new Transport({ proxyTls: 'x' as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
    expect(() => new Transport({ proxyConnectHeaders: 1 as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION' }))
  })

  it('hides credentials in the invalid-option message', () => {
    expect(() => new Transport({ proxy: 'gopher://me:hunter2@proxy.test' })).toThrow(/gopher:.*\*\*\*@proxy\.test/)
    expect(() => new Transport({ proxy: 'gopher://me:hunter2@proxy.test' })).not.toThrow(/hunter2/)
  })

  it('suggests proxy for a misspelt option name', () => {
    expect(() => new Transport({ proxxy: 'http://p' } as never)).toThrow(/did you mean proxy\?/)
  })
})
