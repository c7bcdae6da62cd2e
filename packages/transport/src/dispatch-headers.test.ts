import type { IncomingHttpHeaders } from 'node:http'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { undiciDispatch } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startDroppingServer, startServer } from '../test/server.js'
import { deferred } from '../test/util.js'
import { nextMessage } from '../../../test/loopback.js'
import { Transport } from './transport.js'

const f = useFixture()

/** Dispatches `headers` on the direct path; resolves with the calls the legacy handler heard. */
async function dispatch(transport: Transport, origin: string, headers: unknown, method = 'GET', body?: string): Promise<string[]> {
  const calls: string[] = []
  const done = deferred()
  const handler = {
    onConnect: () => void calls.push('connect'),
    onHeaders: (status: number) => (calls.push(`headers ${status}`), true),
    onData: () => true,
    onComplete: () => (calls.push('complete'), done.resolve()),
    onError: (error: Error & { code?: string }) => (calls.push(`error ${error.code ?? error.message}`), done.resolve()),
  }
  expect(transport[undiciDispatch]({ origin, path: '/', method, headers, body }, handler)).toBe(true)
  await done.promise
  return calls
}

/** A server that answers every request with 204 and keeps each request's head. */
async function headServer(): Promise<{ origin: string; heads: IncomingHttpHeaders[]; raw: string[][] }> {
  const heads: IncomingHttpHeaders[] = []
  const raw: string[][] = []
  const server = f.serve(
    await startServer((req, res) => {
      heads.push(req.headers)
      raw.push(req.rawHeaders)
      res.writeHead(204).end()
    }),
  )
  return { origin: server.origin, heads, raw }
}

describe('Transport[undiciDispatch]: the request head', () => {
  it('sends the headers of a dispatch in every shape undici takes, names in the case written, with accept and user-agent added when absent', async () => {
    const server = await headServer()
    const transport = f.use(new Transport())
    const shapes: unknown[] = [
      { 'X-Record': 'a', 'x-list': ['b', 'c'], 'x-none': undefined, 'x-number': 7 },
      ['X-Flat', 'a', 'x-list', 'b', 'x-list', 'c'],
      [Buffer.from('X-Buffers', 'latin1'), Buffer.from('caf\xe9', 'latin1')],
      [['X-Pairs', 'a'], ['x-list', ['b', 'c']]],
      new Map([['X-Iterable', 'a']]),
      { accept: 'text/plain', 'user-agent': 'mine' },
      undefined,
    ]
    for (const headers of shapes) expect(await dispatch(transport, server.origin, headers)).toEqual(['connect', 'headers 204', 'complete'])
    const names = (raw: string[]): string[] => raw.filter((_, i) => i % 2 === 0)
    expect(server.heads[0]).toMatchObject({ 'x-record': 'a', 'x-list': 'b, c', 'x-number': '7', accept: '*/*', 'user-agent': 'node' })
    expect(server.heads[0]).not.toHaveProperty('x-none')
    expect(server.heads[1]).toMatchObject({ 'x-flat': 'a', 'x-list': 'b, c' })
    expect(server.raw[2]).toContain('caf\xe9')
    expect(server.heads[3]).toMatchObject({ 'x-pairs': 'a', 'x-list': 'b, c' })
    expect(server.heads[4]).toMatchObject({ 'x-iterable': 'a' })
    expect(server.heads[5]).toMatchObject({ accept: 'text/plain', 'user-agent': 'mine' })
    expect(server.heads[6]).toMatchObject({ accept: '*/*', 'user-agent': 'node' })
    // Again: a record's names are known by now (dispatch-input.ts's `known`), and each shape sends the same head.
    for (const headers of shapes) expect(await dispatch(transport, server.origin, headers)).toEqual(['connect', 'headers 204', 'complete'])
    for (let i = 0; i < shapes.length; i++) expect(server.raw[i + shapes.length]).toEqual(server.raw[i])
    // The names as sent: in the case written, as undici's Client sends them (undici's test/fetch/headers-case.js).
    const written = ['X-Record', 'X-Flat', 'X-Buffers', 'X-Pairs', 'X-Iterable']
    written.forEach((name, i) => expect(names(server.raw[i]!)).toContain(name))
    expect(names(server.raw[0]!)).toContain('x-list')
    for (const raw of server.raw) {
      // The body is handed on undecoded, so no accept-encoding is asked for.
      expect(names(raw).map((name) => name.toLowerCase())).not.toContain('accept-encoding')
    }
  })

  it('drops the hop-by-hop headers of a dispatch, and closes the conn after a dispatch that says connection: close', async () => {
    const server = await headServer()
    const transport = f.use(new Transport({ raceDial: false }))
    const hop = { 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-connection': 'keep-alive', expect: '100-continue', 'x-kept': '1' }
    expect(await dispatch(transport, server.origin, hop)).toEqual(['connect', 'headers 204', 'complete'])
    expect(server.heads[0]).toMatchObject({ 'x-kept': '1' })
    for (const name of ['keep-alive', 'te', 'proxy-connection', 'expect']) expect(server.heads[0]).not.toHaveProperty(name)
    expect(transport.stats().total.idle).toBe(1)
    expect(await dispatch(transport, server.origin, ['Connection', 'Close'])).toEqual(['connect', 'headers 204', 'complete'])
    expect(server.heads[1]).toMatchObject({ connection: 'close' })
    expect(transport.stats().total.idle).toBe(0)
    // A record's hop-by-hop names are never taken as known: the same names with another value are read again.
    expect(await dispatch(transport, server.origin, { ...hop, connection: 'keep-alive' })).toEqual(['connect', 'headers 204', 'complete'])
    expect(transport.stats().total.idle).toBe(1)
    expect(await dispatch(transport, server.origin, { ...hop, connection: 'close' })).toEqual(['connect', 'headers 204', 'complete'])
    expect(server.heads[3]).toMatchObject({ connection: 'close', 'x-kept': '1' })
    expect(transport.stats().total.idle).toBe(0)
  })

  it('sends a POST with an idempotency key again when its reused conn turns out stale, as the Request path does', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport({ raceDial: false }))
    const retries: unknown[] = []
    const onRetry = (message: unknown): void => void retries.push(message)
    subscribe('roundtrip:pool:stale-retry', onRetry)
    try {
      const idle = nextMessage('roundtrip:conn:idle')
      expect(await dispatch(transport, server.origin, undefined)).toEqual(['connect', 'headers 200', 'complete'])
      await idle
      // The key as a latin1 Buffer in a flat list, in upper case: found all the same.
      const calls = await dispatch(transport, server.origin, [Buffer.from('Idempotency-Key'), Buffer.from('k1')], 'POST', 'twice')
      expect(calls).toEqual(['connect', 'headers 200', 'complete'])
      expect(retries).toHaveLength(1)
      expect(server.connections).toBe(2)
    } finally {
      unsubscribe('roundtrip:pool:stale-retry', onRetry)
    }
  })
})

describe('Transport[undiciDispatch] through a forwarding proxy', () => {
  it("keeps the dispatch's own Proxy-Authorization, whatever its case, in place of the proxy URL's credentials", async () => {
    // The head server stands for the proxy: node:http takes the absolute-form request line a forwarding proxy gets.
    const proxy = await headServer()
    const transport = f.use(new Transport({ proxy: proxy.origin.replace('http://', 'http://user:secret@') }))
    const calls = await dispatch(transport, 'http://target.test', { 'Proxy-Authorization': 'Basic caller' })
    expect(calls).toEqual(['connect', 'headers 204', 'complete'])
    const sent = proxy.raw[0]!.filter((_, i, raw) => i % 2 === 0 && raw[i]!.toLowerCase() === 'proxy-authorization')
    expect(sent).toEqual(['Proxy-Authorization'])
    expect(proxy.heads[0]!['proxy-authorization']).toBe('Basic caller')
    expect(proxy.heads[0]!.host).toBe('target.test')
  })

  it("sends the dispatch's own Host, as without a proxy, and a Request's, in place of the target's", async () => {
    const proxy = await headServer()
    const transport = f.use(new Transport({ proxy: proxy.origin }))
    expect(await dispatch(transport, 'http://target.test', { Host: 'other.test' })).toEqual(['connect', 'headers 204', 'complete'])
    const response = await transport.roundTrip(new Request('http://target.test/', { headers: { host: 'third.test' } }))
    expect(response.status).toBe(204)
    const hosts = proxy.raw.map((raw) => raw.filter((_, i) => i > 0 && raw[i - 1]!.toLowerCase() === 'host' && i % 2 === 1))
    expect(hosts).toEqual([['other.test'], ['third.test']])
  })
})
