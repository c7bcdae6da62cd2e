import { withContext } from '@roundtrip/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateCertificate, startTlsServer, type TestCertificate, type TestTlsServer } from '../test/tls-server.js'
import { busyCounts, rejection } from '../test/util.js'
import { Transport, type ClientTrace } from './index.js'

let certificate: TestCertificate
let server: TestTlsServer | undefined
let transport: Transport | undefined

beforeAll(async () => {
  certificate = await generateCertificate()
})

afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  await server?.close()
  server = undefined
  transport = undefined
})

describe('Transport over TLS', () => {
  it('sends https requests with a trusted ca and reuses the connection', async () => {
    server = await startTlsServer(certificate, (req, res) => res.end(`secure ${req.url}`))
    transport = new Transport({ tls: { ca: certificate.cert } })
    for (const path of ['/a', '/b', '/c']) {
      const response = await transport.roundTrip(new Request(`${server.origin}${path}`))
      expect(await response.text()).toBe(`secure ${path}`)
    }
    expect(server.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 3, reusedRequests: 2 })
  })

  it('verifies the certificate against the host name "localhost" too', async () => {
    server = await startTlsServer(certificate, (_req, res) => res.end('ok'))
    transport = new Transport({ tls: { ca: certificate.cert } })
    const response = await transport.roundTrip(new Request(server.origin.replace('127.0.0.1', 'localhost')))
    expect(await response.text()).toBe('ok')
  })

  it('rejects with RT_CONNECT_FAILED naming the certificate problem when the certificate is not trusted', async () => {
    server = await startTlsServer(certificate, (_req, res) => res.end('ok'))
    transport = new Transport()
    const url = `${server.origin}/untrusted`
    const error = await rejection(transport.roundTrip(new Request(url)))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain(`GET ${url}`)
    expect(error.message).toMatch(/certificate/i)
    expect((error.cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
    await server.closedCount(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('calls the tlsHandshakeStart and tlsHandshakeDone hooks around the handshake', async () => {
    server = await startTlsServer(certificate, (_req, res) => res.end('ok'))
    transport = new Transport({ tls: { ca: certificate.cert } })
    const events: string[] = []
    const trace: ClientTrace = {
      connectDone: () => events.push('connectDone'),
      tlsHandshakeStart: () => events.push('tlsHandshakeStart'),
      tlsHandshakeDone: (state, error) => events.push(`tlsHandshakeDone ${state.protocol} ${String(state.alpnProtocol)} ${error?.message ?? ''}`.trim()),
      gotConn: () => events.push('gotConn'),
    }
    const response = await transport.roundTrip(withContext(new Request(server.origin), { trace }))
    await response.text()
    expect(events[0]).toBe('connectDone')
    expect(events[1]).toBe('tlsHandshakeStart')
    expect(events[2]).toMatch(/^tlsHandshakeDone TLSv1\.[23] http\/1\.1$/)
    expect(events[3]).toBe('gotConn')
  })

  it('reports the handshake error to tlsHandshakeDone', async () => {
    server = await startTlsServer(certificate, (_req, res) => res.end('ok'))
    transport = new Transport()
    const errors: Array<Error | undefined> = []
    const trace: ClientTrace = { tlsHandshakeDone: (_state, error) => errors.push(error) }
    await rejection(transport.roundTrip(withContext(new Request(server.origin), { trace })))
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(/self.signed/i)
  })
})
