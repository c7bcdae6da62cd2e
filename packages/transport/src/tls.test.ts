import { isRoundTripError, withContext } from '@roundtrip/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate, httpsServer } from '../test/tls.js'
import { Transport } from './transport.js'

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
    const transport = new Transport({ tls: { ca: pem.cert } })
    try {
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
    } finally {
      await transport.close()
    }
  })

  it('rejects a certificate it does not trust with RT_CONNECT_FAILED naming the problem', async () => {
    const transport = new Transport()
    try {
      const error = await transport.roundTrip(new Request(`${server.origin}/`)).catch((e: unknown) => e)
      expect(isRoundTripError(error, 'RT_CONNECT_FAILED')).toBe(true)
      expect(String((error as Error).message)).toMatch(/self[- ]signed certificate/)
      expect((error as Error).cause).toBeInstanceOf(Error)
    } finally {
      await transport.close()
    }
  })

  it('accepts it with rejectUnauthorized: false', async () => {
    const transport = new Transport({ tls: { rejectUnauthorized: false } })
    try {
      expect(await (await transport.roundTrip(new Request(`${server.origin}/x`))).text()).toBe('secure /x')
    } finally {
      await transport.close()
    }
  })
})
