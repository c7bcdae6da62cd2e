import { isRoundTripError, withContext } from '@roundtrip/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate, httpsServer, mtlsCertificates } from '../test/tls.js'
import { useFixture } from '../test/fixture.js'
import { rejection } from '../test/util.js'
import type { ClientTrace } from './trace.js'
import { Transport } from './transport.js'

const f = useFixture()

let pem: { key: string; cert: string }
let server: Awaited<ReturnType<typeof httpsServer>>
beforeAll(async () => {
  pem = await certificate()
  server = await httpsServer(pem)
})
afterAll(async () => {
  await server.close()
})

describe('Transport over TLS', () => {
  it('talks to an https server whose certificate is trusted through tls.ca, reusing the connection', async () => {
    const transport = f.use(new Transport({ raceDial: false, tls: { ca: pem.cert } }))
    const events: string[] = []
    const trace = {
      tlsHandshakeStart: () => events.push('start'),
      tlsHandshakeDone: (state: { protocol: string | null }, error?: Error) => events.push(error ? 'failed' : `done ${state.protocol}`),
    }
    for (const path of ['/a', '/b']) {
      const response = await transport.roundTrip(withContext(new Request(`${server.origin}${path}`), { trace }))
      expect(await response.text()).toBe(`secure ${path}`)
    }
    expect(events).toEqual(['start', expect.stringMatching(/^done TLSv1\.[23]$/)])
    expect(transport.stats().total).toMatchObject({ dials: 1, reusedRequests: 1 })
  })

  it('rejects a certificate it does not trust with RT_CONNECT_FAILED naming the problem', async () => {
    const transport = f.use(new Transport())
    const error = await transport.roundTrip(new Request(`${server.origin}/`)).catch((e: unknown) => e)
    expect(isRoundTripError(error, 'RT_CONNECT_FAILED')).toBe(true)
    expect(String((error as Error).message)).toMatch(/self[- ]signed certificate/)
    expect((error as Error).cause).toBeInstanceOf(Error)
  })

  it('accepts it with rejectUnauthorized: false', async () => {
    const transport = f.use(new Transport({ tls: { rejectUnauthorized: false } }))
    expect(await (await transport.roundTrip(new Request(`${server.origin}/x`))).text()).toBe('secure /x')
  })
})

describe('Transport TLS verification', () => {
  it('verifies the certificate against a host name (localhost) as well as an IP address', async () => {
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const response = await transport.roundTrip(new Request(server.origin.replace('127.0.0.1', 'localhost') + '/named'))
    expect(await response.text()).toBe('secure /named')
  })

  it('rejects a host name the certificate does not cover', async () => {
    // The same server under a name that is not in its subjectAltName.
    const transport = f.use(new Transport({ tls: { ca: pem.cert, servername: 'other.example' } }))
    const error = await rejection(transport.roundTrip(new Request(`${server.origin}/`)))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toMatch(/other\.example/)
  })

  it('negotiates http/1.1 through ALPN', async () => {
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const states: Array<{ protocol: string | null; alpnProtocol: string | false | null }> = []
    const trace: ClientTrace = { tlsHandshakeDone: (state) => states.push(state) }
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace }))).text()
    expect(states).toHaveLength(1)
    expect(states[0]?.alpnProtocol).toBe('http/1.1')
  })

  it('passes the handshake error to tlsHandshakeDone', async () => {
    const transport = f.use(new Transport())
    const calls: Array<Error | undefined> = []
    const trace: ClientTrace = { tlsHandshakeDone: (_state, error) => calls.push(error) }
    const error = await rejection(transport.roundTrip(withContext(new Request(server.origin), { trace })))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(calls).toHaveLength(1)
    expect(calls[0]?.message).toMatch(/self[- ]signed/)
  })
})

describe('Transport TLS: client certificates', () => {
  it('presents tls.cert and tls.key to a server that requires a client certificate', async () => {
    const pems = await mtlsCertificates()
    const strict = f.serve(await httpsServer(pems, { requestCert: true, rejectUnauthorized: true, ca: pems.cert }))
    const transport = f.use(new Transport({ tls: { ca: pems.cert, cert: pems.clientCert, key: pems.clientKey } }))
    expect(await (await transport.roundTrip(new Request(`${strict.origin}/me`))).text()).toBe('secure /me for roundtrip-client')
    // Without one, the server refuses the handshake: the request fails, and no connection is left behind.
    const anonymous = f.use(new Transport({ tls: { ca: pems.cert } }))
    const error = await rejection(anonymous.roundTrip(new Request(`${strict.origin}/anonymous`)))
    // Under TLS 1.3 the server checks the certificate after the client's handshake is done:
    // the client learns it when the connection closes before the response.
    expect(['RT_CONNECT_FAILED', 'RT_SOCKET_CLOSED']).toContain(error.code)
    expect(error.message).toContain(`GET ${strict.origin}/anonymous`)
    expect(strict.connections()).toBe(1)
    expect(anonymous.stats().total).toMatchObject({ active: 0, idle: 0, dialing: 0 })
  })
})

describe('Transport TLS: session resumption', () => {
  /** resumptions sends `n` requests to `origin`, each on a new connection, and returns `resumed` as the trace saw it for each. */
  async function resumptions(transport: Transport, origin: string, n: number): Promise<boolean[]> {
    const resumed: boolean[] = []
    const trace: ClientTrace = { tlsHandshakeDone: (state) => resumed.push(state.resumed) }
    for (let i = 0; i < n; i++) await (await transport.roundTrip(withContext(new Request(`${origin}/${i}`), { trace }))).text()
    return resumed
  }

  it('resumes the TLS session on later connections to the same server', async () => {
    const fresh = f.serve(await httpsServer(pem))
    const transport = f.use(new Transport({ tls: { ca: pem.cert }, disableKeepAlives: true }))
    expect(await resumptions(transport, fresh.origin, 3)).toEqual([false, true, true])
    expect(fresh.resumed()).toBe(2)
  })

  it('does a full handshake each time with maxCachedSessions: 0', async () => {
    const fresh = f.serve(await httpsServer(pem))
    const transport = f.use(new Transport({ tls: { ca: pem.cert }, disableKeepAlives: true, maxCachedSessions: 0 }))
    expect(await resumptions(transport, fresh.origin, 2)).toEqual([false, false])
    expect(fresh.resumed()).toBe(0)
  })
})
