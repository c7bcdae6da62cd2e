import { once } from 'node:events'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { compose, RoundTripError, roundTripper } from '@roundtrip/core'
import { Transport, type TransportOptions } from '@roundtrip/transport'
import { Agent, connect, fetch as undiciFetch, request, upgrade, type Dispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { modernHandler, PATHS, useDispatchFixture } from '../test/dispatch-fixture.js'
import { acceptEchoUpgrades } from '../test/server.js'
import { fromDispatcher } from './from-dispatcher.js'
import { toDispatcher } from './to-dispatcher.js'

// toDispatcher under undici's own APIs, its two paths, and what it refuses; handler generations and destroy() are in to-dispatcher-handlers.test.ts.
const f = useDispatchFixture()

describe('toDispatcher under undici’s APIs', () => {
  it('serves undici.request through the Transport, which counts the request', async () => {
    const server = await f.serve()
    const transport = f.track(new Transport())
    const dispatcher = toDispatcher(transport)
    const { statusCode, headers, body } = await request(`${server.origin}/hello?x=1`, { dispatcher, method: 'POST', body: 'abc' })
    expect(statusCode).toBe(200)
    expect(headers['content-length']).toBe(String('POST /hello?x=1 3 abc'.length))
    expect(await body.text()).toBe('POST /hello?x=1 3 abc')
    expect(transport.stats().total.requests).toBe(1)
  })

  it('streams a Readable request body', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(new Transport()))
    async function* slowly(): AsyncGenerator<string> {
      yield 'a'
      await new Promise((resolve) => setTimeout(resolve, 5))
      yield 'b'
      yield 'c'
    }
    const { body } = await request(`${server.origin}/upload`, { dispatcher, method: 'PUT', body: Readable.from(slowly()) })
    expect(await body.text()).toBe('PUT /upload chunked abc')
  })

  it('hands the body on as sent: undici.request sees the gzip bytes, undici’s fetch decodes them once', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(new Transport()))
    const raw = await request(`${server.origin}/gzip`, { dispatcher })
    expect(raw.headers['content-encoding']).toBe('gzip')
    expect(Buffer.from(await raw.body.arrayBuffer()).equals(gzipSync('packed'))).toBe(true)
    const fetched = await undiciFetch(`${server.origin}/gzip`, { dispatcher })
    expect(await fetched.text()).toBe('packed')
  })

  it('keeps repeated set-cookie headers apart', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(new Transport()))
    const { headers, body } = await request(`${server.origin}/cookies`, { dispatcher })
    await body.dump()
    expect(headers['set-cookie']).toEqual(['a=1', 'b=2'])
  })

  it('reads a large body to the end under undici.request through a composed interceptor (handlers in undici 7’s form)', async () => {
    const server = await f.serve()
    const forms: string[] = []
    const dispatcher = toDispatcher(f.track(new Transport())).compose((dispatch) => (options, handler) => {
      forms.push(typeof handler.onRequestStart === 'function' ? 'undici 7' : 'legacy')
      return dispatch(options, handler)
    })
    const { body } = await request(`${server.origin}/large`, { dispatcher })
    let size = 0
    for await (const chunk of body) size += (chunk as Buffer).length
    expect(size).toBe(16 * 1024 * 1024)
    expect(forms).toEqual(['undici 7'])
  })

  it('hands on the trailers of a response from fromDispatcher', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(fromDispatcher(new Agent())))
    const response = await request(`${server.origin}/trailers`, { dispatcher })
    expect(await response.body.text()).toBe('data')
    expect(response.trailers).toEqual({ 'x-checksum': 'abc123' })
  })

  it('fails with the system error under the RoundTripper’s coded one, which it carries, as undici’s own dispatcher would', async () => {
    const server = await f.serve()
    const origin = server.origin
    await server.close()
    f.untrack(server)
    const dispatcher = toDispatcher(f.track(new Transport()))
    await expect(request(origin, { dispatcher })).rejects.toMatchObject({ code: 'ECONNREFUSED', roundTripError: { code: 'RT_CONNECT_REFUSED' } })
  })

  it('fails a connect timeout with undici’s UND_ERR_CONNECT_TIMEOUT, as undici’s own dispatcher would, coded error alongside', async () => {
    const dispatcher = toDispatcher(f.track(new Transport({ connectTimeout: 30, dial: () => new Promise(() => {}) })))
    await expect(request('http://service.local/', { dispatcher })).rejects.toMatchObject({
      name: 'ConnectTimeoutError',
      code: 'UND_ERR_CONNECT_TIMEOUT',
      roundTripError: { code: 'RT_CONNECT_TIMEOUT' },
    })
  })

  it('completes a dispatch whose system error is frozen, handing it on as it is', async () => {
    const system = Object.freeze(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    const dispatcher = toDispatcher(roundTripper(() => Promise.reject(new RoundTripError('RT_SOCKET_CLOSED', 'socket closed', { cause: system }))))
    await expect(request('http://127.0.0.1:1/', { dispatcher })).rejects.toBe(system)
  })

  it('fails with the RoundTripper’s coded error when no system error is under it', async () => {
    const dispatcher = toDispatcher(roundTripper(() => Promise.reject(new RoundTripError('RT_OWN', 'refused by a layer'))))
    await expect(request('http://127.0.0.1:1/', { dispatcher })).rejects.toMatchObject({ code: 'RT_OWN', message: 'refused by a layer' })
  })
})

describe('toDispatcher: a bare Transport takes dispatches itself', () => {
  /** A Transport whose roundTrip counts its calls: the Request path goes through it, the direct path does not. */
  function counting(options?: TransportOptions): Transport & { roundTrips: number } {
    const transport = Object.assign(new Transport(options), { roundTrips: 0 })
    const roundTrip = transport.roundTrip.bind(transport)
    transport.roundTrip = (request) => {
      transport.roundTrips++
      return roundTrip(request)
    }
    return f.track(transport)
  }

  it('runs Node’s fetch on the Transport’s pool without a Request: stats() counts each, the conn is reused', async () => {
    const server = await f.serve()
    // One conn, reused: no dial raced against the wait for it (raceDial).
    const transport = counting({ raceDial: false })
    const init = { dispatcher: toDispatcher(transport) } as unknown as RequestInit
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${server.origin}/n${i}`, init)).text()).toBe(`GET /n${i} chunked `)
    expect(transport.roundTrips).toBe(0)
    expect(transport.stats().total).toMatchObject({ requests: 3, reusedRequests: 2, idle: 1 })
    expect(server.connections).toBe(1)
  })

  it('keeps the Request path for a stack, so every layer sees the call', async () => {
    const server = await f.serve()
    const transport = counting()
    const seen: string[] = []
    const stack = compose(transport, (next) => roundTripper((request) => (seen.push(`${request.method} ${request.url}`), next.roundTrip(request))))
    const response = await fetch(`${server.origin}/stacked`, { dispatcher: toDispatcher(stack) } as unknown as RequestInit)
    expect(await response.text()).toBe('GET /stacked chunked ')
    expect(seen).toEqual([`GET ${server.origin}/stacked`])
    expect(transport.roundTrips).toBe(1)
    expect(transport.stats().total.requests).toBe(1)
  })

  it('hands a server’s trailers on to undici.request', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(counting())
    const response = await request(`${server.origin}/trailers`, { dispatcher })
    expect(await response.body.text()).toBe('data')
    expect(response.trailers).toEqual({ 'x-checksum': 'abc123' })
  })

  it('takes dispatches from undici 7 handlers too (a composed interceptor), without a Request', async () => {
    const server = await f.serve()
    const transport = counting()
    const dispatcher = toDispatcher(transport).compose((dispatch) => (options, handler) => dispatch(options, handler))
    const handler = modernHandler()
    dispatcher.dispatch({ origin: server.origin, path: '/modern', method: 'GET' }, handler)
    await handler.done
    expect(Buffer.concat(handler.chunks).toString()).toBe('GET /modern chunked ')
    expect(handler.events).toEqual(['start', 'head 200 20', 'end {}'])
    expect(transport.roundTrips).toBe(0)
  })

  it('tells a legacy handler with onBodySent or onRequestSent that its request was written, and one without neither', async () => {
    const server = await f.serve()
    const transport = counting()
    const dispatcher = toDispatcher(transport)
    const run = (hooks: object): Promise<string[]> =>
      new Promise((resolve, reject) => {
        const events: string[] = []
        dispatcher.dispatch({ origin: server.origin, path: '/sent', method: 'POST', body: 'hello' }, {
          ...hooks,
          onConnect() {},
          onHeaders: (status) => (events.push(`head ${status}`), true),
          onData: (chunk) => (events.push(`data ${chunk.toString()}`), true),
          onComplete: () => resolve(events),
          onError: reject,
        } as Dispatcher.DispatchHandler)
      })
    const sent: string[] = []
    const hooks = { onBodySent: (chunk: unknown) => sent.push(`body ${Buffer.from(chunk as Uint8Array).toString()}`), onRequestSent: () => sent.push('request') }
    expect(await run(hooks)).toEqual(['head 200', 'data POST /sent 5 hello'])
    expect(sent).toEqual(['body hello', 'request'])
    expect(await run({ onRequestSent: () => sent.push('only request') })).toEqual(['head 200', 'data POST /sent 5 hello'])
    expect(await run({})).toEqual(['head 200', 'data POST /sent 5 hello'])
    expect(sent).toEqual(['body hello', 'request', 'only request'])
    expect(transport.roundTrips).toBe(0)
  })
})

describe('toDispatcher: what it refuses', () => {
  function refusal(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<Error> {
    return new Promise((resolve) => {
      dispatcher.dispatch(options, { onError: resolve })
    })
  }

  it('refuses upgrades and CONNECT with RT_UPGRADE_UNSUPPORTED, without asking the trace option for hooks', async () => {
    let traced = 0
    const dispatcher = toDispatcher(f.track(new Transport()), { trace: () => void traced++ })
    const upgrade = await refusal(dispatcher, { origin: 'http://127.0.0.1:1', path: '/', method: 'GET', upgrade: 'websocket' })
    expect(upgrade).toMatchObject({ code: 'RT_UPGRADE_UNSUPPORTED', message: expect.stringContaining('upgrade to websocket') })
    await expect(connect('http://127.0.0.1:1', { dispatcher })).rejects.toMatchObject({ code: 'RT_UPGRADE_UNSUPPORTED' })
    // The method in any case, as undici takes it.
    for (const method of ['connect', 'Connect']) {
      const refused = await refusal(dispatcher, { origin: 'http://127.0.0.1:1', path: '127.0.0.1:1', method: method as 'CONNECT' })
      expect(refused).toMatchObject({ code: 'RT_UPGRADE_UNSUPPORTED', message: expect.stringContaining('cannot CONNECT') })
    }
    expect(traced).toBe(0)
  })

  it('hands upgrades to the dispatcher given as options.upgrades, without asking the trace option for hooks', async () => {
    const server = await f.serve()
    acceptEchoUpgrades(server.server)
    const agent = f.track(new Agent())
    let traced = 0
    const dispatcher = toDispatcher(f.track(new Transport()), { upgrades: agent, trace: () => void traced++ })
    const { socket } = await upgrade(server.origin, { dispatcher, protocol: 'echo' })
    socket.write('ping')
    const [echoed] = (await once(socket, 'data')) as [Buffer]
    expect(echoed.toString()).toBe('ping')
    socket.destroy()
    expect(traced).toBe(0)
  })

  it('refuses a method a Request cannot carry with RT_INVALID_DISPATCH naming the request', async () => {
    const dispatcher = toDispatcher(f.track(new Transport()))
    const error = await refusal(dispatcher, { origin: 'http://127.0.0.1:1', path: '/x', method: 'TRACE' })
    expect(error).toMatchObject({ code: 'RT_INVALID_DISPATCH', message: expect.stringContaining('TRACE http://127.0.0.1:1/x') })
  })

  it('refuses dispatches after close() with RT_DISPATCHER_CLOSED, and close() closes the RoundTripper', async () => {
    let closed = false
    const dispatcher = toDispatcher(Object.assign(roundTripper(async () => new Response('x')), { close: async () => void (closed = true) }))
    await dispatcher.close()
    expect(closed).toBe(true)
    await expect(request('http://127.0.0.1:1/', { dispatcher })).rejects.toMatchObject({ code: 'RT_DISPATCHER_CLOSED' })
  })

  it.each(PATHS)('throws RT_INVALID_ARGUMENT for a handler it cannot report to, on %s, before sending anything', (_path, make) => {
    const rt = f.track(make())
    const dispatcher = toDispatcher(rt)
    const options = { origin: 'http://127.0.0.1:1', path: '/', method: 'GET' } as const
    for (const handler of [null, {}, { onRequestStart() {} }]) {
      expect(() => dispatcher.dispatch(options, handler as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_ARGUMENT' }))
    }
  })

  it('refuses something that is not a RoundTripper with RT_INVALID_ARGUMENT', () => {
    expect(() => toDispatcher({} as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_ARGUMENT' }))
  })
})
