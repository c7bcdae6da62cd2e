import { isRoundTripError, withContext } from '@roundtrip/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate, httpsServer } from '../test/tls.js'
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
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
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
