import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { startSocksServer } from '../test/socks.js'
import { certificate, httpsServer } from '../test/tls.js'
import { busyCounts, get, rejection } from '../test/util.js'
import { Transport } from './index.js'

const f = useFixture()

describe('Transport through a SOCKS5 proxy', () => {
  it('sends 100 sequential http: requests over one SOCKS5 connection', async () => {
    const target = f.serve(await startServer((req, res) => res.end(`${req.url} host=${req.headers.host}`)))
    const socks = f.serve(await startSocksServer())
    const transport = f.use(new Transport({ raceDial: false, proxy: `socks5://127.0.0.1:${socks.port}` }))
    for (let i = 0; i < 100; i++) expect(await get(transport, `${target.origin}/n${i}`)).toBe(`/n${i} host=127.0.0.1:${target.port}`)
    expect(socks.connections()).toBe(1)
    expect(target.connections).toBe(1)
    expect(socks.destinations).toEqual([`127.0.0.1:${target.port}`])
    expect(Object.keys(transport.stats().hosts)).toEqual([`${target.origin} via socks5://127.0.0.1:${socks.port}`])
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('runs TLS to an https: target over the SOCKS5 stream, with credentials', async () => {
    const pem = await certificate()
    const secure = f.serve(await httpsServer(pem))
    const socks = f.serve(await startSocksServer({ username: 'me', password: 's3cret' }))
    const transport = f.use(new Transport({ raceDial: false, proxy: `socks5://me:s3cret@127.0.0.1:${socks.port}`, tls: { ca: pem.cert } }))
    expect(await get(transport, `${secure.origin}/a`)).toBe('secure /a')
    expect(await get(transport, `${secure.origin}/b`)).toBe('secure /b')
    expect(secure.connections()).toBe(1)
    expect(socks.connections()).toBe(1)
  })

  it('resolves the name itself for socks5:// and lets the proxy resolve it for socks5h://', async () => {
    const target = f.serve(await startServer((_req, res) => res.end('ok')))
    const socks = f.serve(await startSocksServer())
    const local = f.use(new Transport({ proxy: `socks5://127.0.0.1:${socks.port}` }))
    const remote = f.use(new Transport({ proxy: `socks5h://127.0.0.1:${socks.port}` }))
    expect(await get(local, `http://localhost:${target.port}/`)).toBe('ok')
    expect(await get(remote, `http://localhost:${target.port}/`)).toBe('ok')
    expect(socks.destinations[0]).toMatch(new RegExp(`^(127\\.0\\.0\\.1|::1):${target.port}$`))
    expect(socks.destinations[1]).toBe(`localhost:${target.port}`)
  })

  it('rejects with RT_PROXY_CONNECT_FAILED when the SOCKS5 proxy refuses the credentials', async () => {
    const socks = f.serve(await startSocksServer({ username: 'me', password: 'right' }))
    const transport = f.use(new Transport({ proxy: `socks5h://me:wrong-pass@127.0.0.1:${socks.port}` }))
    const error = await rejection(transport.roundTrip(new Request('http://example.test/')))
    expect(error.message).toMatch(/authentication/i)
    expect(socks.destinations).toEqual([])
    expect(error.code).toBe('RT_PROXY_CONNECT_FAILED')
    expect(error.message).toContain(`through proxy socks5h://***@127.0.0.1:${socks.port}`)
    expect(error.message).not.toContain('wrong-pass')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})

describe('Transport through a silent SOCKS5 proxy', () => {
  it('times out the handshake with RT_CONNECT_TIMEOUT and closes the socket', async () => {
    const { startRawServer } = await import('../test/server.js')
    // Reads and never answers (reading lets it see the client close).
    const silent = f.serve(await startRawServer((socket) => void socket.resume()))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ proxy: `socks5h://127.0.0.1:${silent.port}`, connectTimeout: 100, clock }))
    const accepted = once(silent.server, 'connection')
    const pending = rejection(transport.roundTrip(new Request('http://example.test/')))
    await accepted
    clock.advance(100)
    const error = await pending
    expect(error.code).toBe('RT_CONNECT_TIMEOUT')
    await silent.closedCount(1)
  })
})
