import { bodyHold } from '@roundtrip/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startServer } from '../test/server.js'
import { certificate } from '../test/tls.js'
import { Transport } from './transport.js'

const f = useFixture()

/** Waits (turn by turn, no timer) until the pool holds `n` idle connections: a bodiless response resolves before its conn is back. */
async function idle(transport: Transport, n = 1): Promise<void> {
  for (let i = 0; i < 1000 && transport.stats().total.idle !== n; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('Transport: a response without a body declares its connection too (core bodyHold)', () => {
  it('over HTTP/1.1: HEAD, HEAD and 204 on one keep-alive connection, reused false then true, shared frozen holds', async () => {
    const server = f.serve(await startServer((req, res) => (req.url === '/empty' ? res.writeHead(204).end() : res.end('hello'))))
    const transport = f.use(new Transport())
    const first = await transport.roundTrip(new Request(`${server.origin}/a`, { method: 'HEAD' }))
    await idle(transport)
    const second = await transport.roundTrip(new Request(`${server.origin}/a`, { method: 'HEAD' }))
    await idle(transport)
    const empty = await transport.roundTrip(new Request(`${server.origin}/empty`))
    expect(transport.stats().total).toMatchObject({ requests: 3, reusedRequests: 2 })
    expect(bodyHold(first)).toEqual({ pool: server.origin, released: true, reused: false })
    expect(bodyHold(second)).toEqual({ pool: server.origin, released: true, reused: true })
    expect(empty.status).toBe(204)
    // No allocation per response: one frozen object per pool and reuse.
    expect(bodyHold(empty)).toBe(bodyHold(second))
    expect(Object.isFrozen(bodyHold(empty))).toBe(true)
  })

  describe('over HTTP/2', () => {
    let pem: { key: string; cert: string }
    beforeAll(async () => {
      pem = await certificate()
    })

    it('HEAD then 204 on one connection: reused false then true', async () => {
      const server = f.serve(await startH2Server((req, res) => (req.url === '/empty' ? res.writeHead(204).end() : res.end('hello')), { pem }))
      const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
      const head = await transport.roundTrip(new Request(`${server.origin}/a`, { method: 'HEAD' }))
      await idle(transport)
      const empty = await transport.roundTrip(new Request(`${server.origin}/empty`))
      expect(transport.stats().total).toMatchObject({ dials: 1, requests: 2, reusedRequests: 1 })
      expect(bodyHold(head)).toEqual({ pool: server.origin, released: true, reused: false })
      expect(bodyHold(empty)).toEqual({ pool: server.origin, released: true, reused: true })
    })
  })
})
