import { once } from 'node:events'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startRawServer } from '../test/server.js'
import { busyCounts, deferred, rejection } from '../test/util.js'
import { ProxyConnectError, Transport } from './index.js'

const f = useFixture()

/** A fault proxy: reads one CONNECT head, then does `answer` with the socket. `headSeen` settles when the first head is in. */
async function faultProxy(
  answer: (socket: Socket, head: string) => void,
): Promise<Awaited<ReturnType<typeof startRawServer>> & { heads: string[]; headSeen: Promise<void> }> {
  const heads: string[] = []
  const headSeen = deferred()
  const server = await startRawServer((socket) => {
    let buffered = ''
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = buffered.slice(0, end)
      buffered = buffered.slice(end + 4)
      heads.push(head)
      headSeen.resolve()
      answer(socket, head)
    })
  })
  return Object.assign(server, { heads, headSeen: headSeen.promise })
}

describe('Transport through a failing proxy', () => {
  it('rejects with RT_PROXY_CONNECT_FAILED and status 407 on a 407 to CONNECT, without asking again', async () => {
    const proxy = f.serve(await faultProxy((socket) => {
      socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 6\r\n\r\ndenied')
    }))
    const transport = f.use(new Transport({ proxy: `http://127.0.0.1:${proxy.port}` }))
    const error = await rejection(transport.roundTrip(new Request('https://secure.test/')))
    expect(error).toBeInstanceOf(ProxyConnectError)
    expect(error.code).toBe('RT_PROXY_CONNECT_FAILED')
    expect((error as ProxyConnectError).status).toBe(407)
    expect((error as ProxyConnectError).proxy).toBe(`http://127.0.0.1:${proxy.port}`)
    expect(error.message).toContain('CONNECT secure.test:443')
    expect(error.message).toContain('wants credentials')
    expect(error.message).toContain('GET https://secure.test/')
    expect(proxy.heads).toHaveLength(1)
    expect(proxy.heads[0]).toMatch(/^CONNECT secure\.test:443 HTTP\/1\.1\r\n/)
    expect(proxy.connections).toBe(1)
    await proxy.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    expect(transport.stats().hosts).toEqual({})
  })

  it('names a 502 from the proxy', async () => {
    const proxy = f.serve(await faultProxy((socket) => socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')))
    const transport = f.use(new Transport({ proxy: `http://u:topsecret@127.0.0.1:${proxy.port}` }))
    const error = await rejection(transport.roundTrip(new Request('https://secure.test:8443/')))
    expect(error.code).toBe('RT_PROXY_CONNECT_FAILED')
    expect((error as ProxyConnectError).status).toBe(502)
    expect(error.message).toContain(`CONNECT secure.test:8443 through proxy http://***@127.0.0.1:${proxy.port} failed with status 502`)
    expect(error.message).not.toContain('topsecret')
    expect(proxy.heads[0]).toContain(`proxy-authorization: Basic ${Buffer.from('u:topsecret').toString('base64')}`)
  })

  it('rejects with RT_PROXY_CONNECT_FAILED when the proxy closes the connection during CONNECT', async () => {
    const proxy = f.serve(await faultProxy((socket) => socket.destroy()))
    const transport = f.use(new Transport({ proxy: `http://127.0.0.1:${proxy.port}` }))
    const error = await rejection(transport.roundTrip(new Request('https://secure.test/')))
    expect(error.code).toBe('RT_PROXY_CONNECT_FAILED')
    expect((error as ProxyConnectError).status).toBeUndefined()
    expect(error.cause).toBeInstanceOf(Error)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('times out a proxy that never answers CONNECT with RT_CONNECT_TIMEOUT', async () => {
    const proxy = f.serve(await faultProxy(() => undefined))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ proxy: `http://127.0.0.1:${proxy.port}`, connectTimeout: 100, clock }))
    const accepted = once(proxy.server, 'connection')
    const pending = rejection(transport.roundTrip(new Request('https://secure.test/')))
    await accepted
    clock.advance(100)
    const error = await pending
    expect(error.code).toBe('RT_CONNECT_TIMEOUT')
    await proxy.closedCount(1)
  })

  it('rejects with the abort reason when the request is aborted during CONNECT, and the dial is closed with the transport', async () => {
    const proxy = f.serve(await faultProxy(() => undefined))
    const transport = f.use(new Transport({ proxy: `http://127.0.0.1:${proxy.port}` }))
    const controller = new AbortController()
    const pending = transport.roundTrip(new Request('https://secure.test/', { signal: controller.signal }))
    await proxy.headSeen
    controller.abort(new Error('stop'))
    expect((await rejection(pending)).message).toBe('stop')
    await transport.close()
    await proxy.closedCount(1)
  })
})

describe('Transport proxy trace', () => {
  it('reports the tunnel to proxyConnectStart/Done and the roundtrip:proxy:* channels, with the refusal', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const { withContext } = await import('@roundtrip/core')
    const proxy = f.serve(await faultProxy((socket) => socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')))
    const transport = f.use(new Transport({ proxy: `http://u:pw@127.0.0.1:${proxy.port}` }))
    const events: string[] = []
    const onStart = (message: unknown): void => void events.push(`channel start ${(message as { target: string }).target}`)
    const onDone = (message: unknown): void => void events.push(`channel done ${(message as { error?: { code: string } }).error?.code}`)
    subscribe('roundtrip:proxy:connect', onStart)
    subscribe('roundtrip:proxy:connected', onDone)
    try {
      const trace = {
        proxyConnectStart: (info: { proxy: string; target: string }) => events.push(`start ${info.proxy} ${info.target}`),
        proxyConnectDone: (_info: unknown, error?: Error) => events.push(`done ${(error as { code?: string } | undefined)?.code}`),
      }
      const error = await rejection(transport.roundTrip(withContext(new Request('https://secure.test/'), { trace })))
      expect((error as ProxyConnectError).status).toBe(403)
    } finally {
      unsubscribe('roundtrip:proxy:connect', onStart)
      unsubscribe('roundtrip:proxy:connected', onDone)
    }
    expect(events).toEqual([
      `start http://***@127.0.0.1:${proxy.port} secure.test:443`,
      'channel start secure.test:443',
      'done RT_PROXY_CONNECT_FAILED',
      'channel done RT_PROXY_CONNECT_FAILED',
    ])
  })
})
