import type { IncomingMessage, ServerResponse } from 'node:http'
import { withReplayableBody, type ReplayableBody } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer, type TestServer } from '../test/server.js'
import { Transport } from './transport.js'

const f = useFixture()

/** What the server saw of a request body. */
interface Seen {
  bytes: number
  length: string | null
  chunked: string | null
}

async function count(req: IncomingMessage): Promise<number> {
  let n = 0
  for await (const chunk of req) n += (chunk as Buffer).byteLength
  return n
}

/** A server that refuses chunked uploads with 411, as S3 and GCS signed PUTs do, and reports what it got. */
async function lengthRequired(): Promise<TestServer> {
  return startServer(async (req: IncomingMessage, res: ServerResponse) => {
    const seen: Seen = { bytes: await count(req), length: req.headers['content-length'] ?? null, chunked: req.headers['transfer-encoding'] ?? null }
    res.writeHead(seen.chunked === null ? 200 : 411, { 'content-type': 'application/json' }).end(JSON.stringify(seen))
  })
}

const MiB = 1024 * 1024

function declared(bytes: Uint8Array, length = bytes.byteLength): ReplayableBody {
  return { length, getBody: () => bytes }
}

describe('Transport: declared request bodies', () => {
  it('sends a declared 3 MiB body with its content-length, never chunked', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    const bytes = new Uint8Array(3 * MiB).fill(7)
    const request = withReplayableBody(new Request(server.origin, { method: 'PUT', body: bytes }), declared(bytes))
    const response = await transport.roundTrip(request)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ bytes: 3 * MiB, length: String(3 * MiB), chunked: null })
  })

  it('sends a declared Blob larger than 1 MiB with its content-length', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    const blob = new Blob([new Uint8Array(MiB + 1), 'tail'])
    const request = withReplayableBody(new Request(server.origin, { method: 'PUT', body: blob }), { length: blob.size, getBody: () => blob })
    const response = await transport.roundTrip(request)
    expect(await response.json()).toEqual({ bytes: MiB + 5, length: String(MiB + 5), chunked: null })
  })

  it('sends the declared length in place of a content-length the request carries', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    const bytes = new TextEncoder().encode('twelve bytes')
    const request = withReplayableBody(
      new Request(server.origin, { method: 'POST', body: bytes, headers: { 'content-length': '99' } }),
      declared(bytes),
    )
    expect(await (await transport.roundTrip(request)).json()).toEqual({ bytes: 12, length: '12', chunked: null })
  })

  it('rejects with RT_INVALID_REQUEST a declaration whose length is not the body’s', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    for (const size of [10, 2 * MiB]) {
      const bytes = new Uint8Array(size)
      const request = withReplayableBody(new Request(server.origin, { method: 'POST', body: bytes }), declared(bytes, size + 1))
      await expect(transport.roundTrip(request)).rejects.toMatchObject({ code: 'RT_INVALID_REQUEST' })
    }
  })

  it('falls back to a content-length for an undeclared small body available at once', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin, { method: 'PUT', body: 'small' }))
    expect(await response.json()).toEqual({ bytes: 5, length: '5', chunked: null })
  })

  it('streams an undeclared 3 MiB body chunked (its length is not known to the Transport)', async () => {
    const server = f.serve(await lengthRequired())
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin, { method: 'PUT', body: new Uint8Array(3 * MiB) }))
    expect(response.status).toBe(411)
    expect(await response.json()).toMatchObject({ bytes: 3 * MiB, chunked: 'chunked' })
  })

  it('sends a large declared body again with getBody() when a reused connection turns out stale', async () => {
    // The second request on each connection is read in full, then the connection is dropped unanswered.
    const perSocket = new WeakMap<object, number>()
    const received: number[] = []
    const server = f.serve(
      await startServer(async (req, res) => {
        const n = (perSocket.get(req.socket) ?? 0) + 1
        perSocket.set(req.socket, n)
        const bytes = await count(req)
        received.push(bytes)
        if (n === 2) req.socket.destroy()
        else res.end(`${bytes} ${req.headers['content-length'] ?? 'chunked'}`)
      }),
    )
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('0 chunked')
    const bytes = new Uint8Array(2 * MiB).fill(1)
    let calls = 0
    const body: ReplayableBody = { length: bytes.byteLength, getBody: () => (calls++, bytes) }
    const request = withReplayableBody(
      new Request(server.origin, { method: 'PUT', body: bytes, headers: { 'idempotency-key': 'k' } }),
      body,
    )
    const response = await transport.roundTrip(request)
    expect(await response.text()).toBe(`${2 * MiB} ${2 * MiB}`)
    expect(calls).toBe(1)
    expect(received).toEqual([0, 2 * MiB, 2 * MiB])
    expect(server.connections).toBe(2)
  })
})
