import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startRawServer } from '../test/server.js'
import { busyCounts, closedPort, rejection } from '../test/util.js'
import { useFixture } from '../test/fixture.js'
import { Transport } from './index.js'

const f = useFixture()

/** A Request whose `url` carries credentials, which `new Request` itself refuses to hold (a subclass or a foreign Request can). */
function credentialRequest(url: string): Request {
  const request = new Request(url.replace(/\/\/[^@/]*@/, '//'))
  Object.defineProperty(request, 'url', { value: url })
  return request
}

describe('Transport error details', () => {
  it('leaves credentials out of the error message', async () => {
    const port = await closedPort()
    const transport = f.use(new Transport())
    const error = await rejection(transport.roundTrip(credentialRequest(`http://user:secret@127.0.0.1:${port}/x`)))
    expect(error.code).toBe('RT_CONNECT_REFUSED')
    expect(error.message).toContain(`GET http://127.0.0.1:${port}/x`)
    expect(error.message).not.toContain('secret')
    expect(error.message).not.toContain('user')
  })

  it('errors the body read with RT_SOCKET_CLOSED when a chunked body ends without its last chunk', async () => {
    const server = f.serve(await startRawServer((socket: Socket) => {
      socket.on('error', () => {})
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'))
    }))
    const transport = f.use(new Transport())
    const url = `${server.origin}/chunked`
    const response = await transport.roundTrip(new Request(url))
    const error = await rejection(response.text())
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toContain(`GET ${url}`)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('throws RT_INVALID_OPTION naming the option for each kind of invalid value', () => {
    const bad: Array<[unknown, string]> = [
      [{ maxIdleConns: -1 }, 'maxIdleConns'],
      [{ idleConnTimeout: 1.5 }, 'idleConnTimeout'],
      [{ connectTimeout: '100' }, 'connectTimeout'],
      [{ maxWaitTime: Number.NaN }, 'maxWaitTime'],
      [{ maxResponseHeaderBytes: 0 }, 'maxResponseHeaderBytes'],
      [{ tls: 'yes' }, 'tls'],
      [{ clock: { now: () => 0 } }, 'clock'],
      [{ clock: () => 0 }, 'clock'],
      [{ proxyTunnel: 'yes' }, 'proxyTunnel'],
      [{ maxCachedSessions: -1 }, 'maxCachedSessions'],
      ['options', 'options'],
    ]
    for (const [options, name] of bad) {
      let thrown: (Error & { code?: string }) | undefined
      try {
        new Transport(options as never)
      } catch (error) {
        thrown = error as Error & { code?: string }
      }
      expect(thrown?.code, JSON.stringify(options)).toBe('RT_INVALID_OPTION')
      expect(thrown?.message).toContain(name)
    }
  })
})
