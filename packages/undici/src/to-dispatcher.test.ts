import { once } from 'node:events'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { compose, RoundTripError, roundTripper, type RoundTripper } from '@roundtrip/core'
import { Transport, type TransportOptions } from '@roundtrip/transport'
import { Agent, connect, fetch as undiciFetch, request, upgrade, type Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { acceptEchoUpgrades, nextTurn, startServer, writeLarge, type TestServer, type Writer } from '../test/server.js'
import { fromDispatcher } from './from-dispatcher.js'
import { toDispatcher } from './to-dispatcher.js'

let writer: Writer | undefined
/** Called when the server holds a request to /silent (no head, ever). */
let serverHolding: (() => void) | undefined
const closing: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  writer = undefined
  serverHolding = undefined
  for (const c of closing.splice(0).reverse()) await c.close()
})
function track<T extends { close(): Promise<void> }>(value: T): T {
  closing.push(value)
  return value
}

async function serve(): Promise<TestServer> {
  return track(await startServer((req, res) => {
    if (req.url === '/large') writer = writeLarge(res, 16 * 1024 * 1024)
    else if (req.url === '/hang') res.flushHeaders()
    else if (req.url === '/held') res.write('first')
    else if (req.url === '/silent') serverHolding?.()
    else if (req.url === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(gzipSync('packed'))
    } else if (req.url === '/trailers') {
      res.writeHead(200, { trailer: 'x-checksum' })
      res.write('data')
      res.addTrailers({ 'x-checksum': 'abc123' })
      res.end()
    } else if (req.url === '/cookies') {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.end()
    } else {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => res.end(`${req.method} ${req.url} ${req.headers['content-length'] ?? 'chunked'} ${body}`))
    }
  }))
}

/** A handler of undici 7's generation that records what it is told. */
function modernHandler(): Dispatcher.DispatchHandler & { events: string[]; chunks: Buffer[]; controller?: Dispatcher.DispatchController; done: Promise<void> } {
  let resolve!: () => void
  const done = new Promise<void>((r) => (resolve = r))
  const handler: ReturnType<typeof modernHandler> = {
    events: [],
    chunks: [],
    done,
    onRequestStart(controller) {
      handler.controller = controller
      handler.events.push('start')
    },
    onResponseStart(_controller, status, headers) {
      handler.events.push(`head ${status} ${String(headers['content-length'] ?? '')}`)
    },
    onResponseData(_controller, chunk) {
      handler.chunks.push(chunk)
    },
    onResponseEnd(_controller, trailers) {
      handler.events.push(`end ${JSON.stringify(trailers)}`)
      resolve()
    },
    onResponseError(_controller, error) {
      handler.events.push(`error ${(error as { code?: string }).code ?? error.message}`)
      resolve()
    },
  }
  return handler
}

const PATHS: Array<[string, () => RoundTripper & { close(): Promise<void> }]> = [
  ['the Transport’s direct path', () => new Transport()],
  ['the Request path, through a stack', () => compose(new Transport())],
]

function bytesOf(chunks: Buffer[]): number {
  return chunks.reduce((n, c) => n + c.length, 0)
}

describe('toDispatcher under undici’s APIs', () => {
  it('serves undici.request through the Transport, which counts the request', async () => {
    const server = await serve()
    const transport = track(new Transport())
    const dispatcher = toDispatcher(transport)
    const { statusCode, headers, body } = await request(`${server.origin}/hello?x=1`, { dispatcher, method: 'POST', body: 'abc' })
    expect(statusCode).toBe(200)
    expect(headers['content-length']).toBe(String('POST /hello?x=1 3 abc'.length))
    expect(await body.text()).toBe('POST /hello?x=1 3 abc')
    expect(transport.stats().total.requests).toBe(1)
  })

  it('streams a Readable request body', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(new Transport()))
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
    const server = await serve()
    const dispatcher = toDispatcher(track(new Transport()))
    const raw = await request(`${server.origin}/gzip`, { dispatcher })
    expect(raw.headers['content-encoding']).toBe('gzip')
    expect(Buffer.from(await raw.body.arrayBuffer()).equals(gzipSync('packed'))).toBe(true)
    const fetched = await undiciFetch(`${server.origin}/gzip`, { dispatcher })
    expect(await fetched.text()).toBe('packed')
  })

  it('keeps repeated set-cookie headers apart', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(new Transport()))
    const { headers, body } = await request(`${server.origin}/cookies`, { dispatcher })
    await body.dump()
    expect(headers['set-cookie']).toEqual(['a=1', 'b=2'])
  })

  it('reads a large body to the end under undici.request through a composed interceptor (handlers in undici 7’s form)', async () => {
    const server = await serve()
    const forms: string[] = []
    const dispatcher = toDispatcher(track(new Transport())).compose((dispatch) => (options, handler) => {
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
    const server = await serve()
    const dispatcher = toDispatcher(track(fromDispatcher(new Agent())))
    const response = await request(`${server.origin}/trailers`, { dispatcher })
    expect(await response.body.text()).toBe('data')
    expect(response.trailers).toEqual({ 'x-checksum': 'abc123' })
  })

  it('fails with the system error under the RoundTripper’s coded one, which it carries, as undici’s own dispatcher would', async () => {
    const server = await serve()
    const origin = server.origin
    await server.close()
    closing.splice(closing.indexOf(server), 1)
    const dispatcher = toDispatcher(track(new Transport()))
    await expect(request(origin, { dispatcher })).rejects.toMatchObject({ code: 'ECONNREFUSED', roundTripError: { code: 'RT_CONNECT_REFUSED' } })
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
    return track(transport)
  }

  it('runs Node’s fetch on the Transport’s pool without a Request: stats() counts each, the conn is reused', async () => {
    const server = await serve()
    // One conn, reused: no dial raced against the wait for it (raceDial).
    const transport = counting({ raceDial: false })
    const init = { dispatcher: toDispatcher(transport) } as unknown as RequestInit
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${server.origin}/n${i}`, init)).text()).toBe(`GET /n${i} chunked `)
    expect(transport.roundTrips).toBe(0)
    expect(transport.stats().total).toMatchObject({ requests: 3, reusedRequests: 2, idle: 1 })
    expect(server.connections).toBe(1)
  })

  it('keeps the Request path for a stack, so every layer sees the call', async () => {
    const server = await serve()
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
    const server = await serve()
    const dispatcher = toDispatcher(counting())
    const response = await request(`${server.origin}/trailers`, { dispatcher })
    expect(await response.body.text()).toBe('data')
    expect(response.trailers).toEqual({ 'x-checksum': 'abc123' })
  })

  it('takes dispatches from undici 7 handlers too (a composed interceptor), without a Request', async () => {
    const server = await serve()
    const transport = counting()
    const dispatcher = toDispatcher(transport).compose((dispatch) => (options, handler) => dispatch(options, handler))
    const handler = modernHandler()
    dispatcher.dispatch({ origin: server.origin, path: '/modern', method: 'GET' }, handler)
    await handler.done
    expect(Buffer.concat(handler.chunks).toString()).toBe('GET /modern chunked ')
    expect(handler.events).toEqual(['start', 'head 200 20', 'end {}'])
    expect(transport.roundTrips).toBe(0)
  })
})

// Each behaviour on both paths: a bare Transport takes dispatches itself (core's undiciDispatch), a stack gets a Request.
describe.each(PATHS)('toDispatcher: handler generations (%s)', (_path, make) => {
  it('pauses on a legacy onHeaders returning false until resume() is called', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(make()))
    let resume!: () => void
    let received = 0
    let resolve!: () => void
    const done = new Promise<void>((r) => (resolve = r))
    dispatcher.dispatch({ origin: server.origin, path: '/large', method: 'GET' }, {
      onConnect() {},
      onHeaders(_status, _raw, r) {
        resume = r
        return false
      },
      onData(chunk) {
        received += chunk.length
        return true
      },
      onComplete: () => resolve(),
      onError: (error) => {
        throw error
      },
    })
    while (writer === undefined) await nextTurn()
    await writer.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(received).toBe(0)
    expect(writer!.written).toBeLessThan(16 * 1024 * 1024)
    resume()
    await done
    expect(received).toBe(16 * 1024 * 1024)
  })

  it('holds a small body back too until a legacy handler resumes', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(make()))
    const events: string[] = []
    let resume!: () => void
    const done = new Promise<void>((resolve) => {
      dispatcher.dispatch({ origin: server.origin, path: '/small', method: 'GET' }, {
        onConnect() {},
        onHeaders(status, _raw, r) {
          events.push(`head ${status}`)
          resume = r
          return false
        },
        onData(chunk) {
          events.push(`data ${chunk.toString()}`)
          return true
        },
        onComplete() {
          events.push('complete')
          resolve()
        },
        onError: (error) => {
          throw error
        },
      })
    })
    while (events.length === 0) await nextTurn()
    for (let i = 0; i < 10; i++) await nextTurn()
    expect(events).toEqual(['head 200'])
    resume()
    await done
    expect(events).toEqual(['head 200', 'data GET /small chunked ', 'complete'])
  })

  it('aborts a paused small body still arriving: the handler hears the reason once, nothing is left unhandled', async () => {
    const server = track(await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('01234')
    }))
    const dispatcher = toDispatcher(track(make()))
    const errors: Error[] = []
    let abort!: (error?: Error) => void
    let headed!: () => void
    const head = new Promise<void>((r) => (headed = r))
    dispatcher.dispatch({ origin: server.origin, path: '/', method: 'GET' }, {
      onConnect: (a) => (abort = a),
      onHeaders: () => {
        headed()
        return false
      },
      onData: () => {
        throw new Error('no data expected while paused')
      },
      onError: (error) => errors.push(error),
    })
    await head
    abort(new Error('leaving'))
    for (let i = 0; i < 10; i++) await nextTurn()
    expect(errors.map((e) => e.message)).toEqual(['leaving'])
  })

  it('ends a HEAD and a 204 at once, without a body', async () => {
    const server = track(await startServer((req, res) => {
      res.statusCode = req.url === '/204' ? 204 : 200
      res.setHeader('content-length', req.url === '/204' ? '0' : '10')
      res.end(req.method === 'HEAD' || req.url === '/204' ? undefined : '0123456789')
    }))
    const dispatcher = toDispatcher(track(make()))
    const head = await request(server.origin, { dispatcher, method: 'HEAD' })
    expect([head.statusCode, head.headers['content-length'], await head.body.text()]).toEqual([200, '10', ''])
    const empty = await request(`${server.origin}/204`, { dispatcher })
    expect([empty.statusCode, await empty.body.text()]).toEqual([204, ''])
  })

  it('holds the body back while undici 7’s controller is paused, then streams it all on resume()', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(make()))
    const handler = modernHandler()
    const onData = handler.onResponseData!.bind(handler)
    let paused = false
    handler.onResponseData = (controller, chunk) => {
      onData(controller, chunk)
      if (!paused) {
        paused = true
        controller.pause()
      }
    }
    dispatcher.dispatch({ origin: server.origin, path: '/large', method: 'GET' }, handler)
    while (writer === undefined || handler.chunks.length === 0) await nextTurn()
    await writer.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(handler.chunks.length).toBe(1)
    expect(handler.controller!.paused).toBe(true)
    expect(writer.written).toBeLessThan(16 * 1024 * 1024)
    handler.controller!.resume()
    await handler.done
    expect(bytesOf(handler.chunks)).toBe(16 * 1024 * 1024)
    expect(handler.events).toEqual(['start', `head 200 ${16 * 1024 * 1024}`, 'end {}'])
  })

  it('aborts through undici 7’s controller: the handler hears the reason and the server sees the connection close', async () => {
    let closed!: () => void
    const serverSawClose = new Promise<void>((r) => (closed = r))
    const server = track(await startServer((_req, res) => {
      res.write('first')
      res.on('close', () => closed())
    }))
    const dispatcher = toDispatcher(track(make()))
    const handler = modernHandler()
    handler.onResponseData = (controller) => controller.abort(new Error('enough'))
    dispatcher.dispatch({ origin: server.origin, path: '/', method: 'GET' }, handler)
    await handler.done
    expect(handler.events).toEqual(['start', 'head 200 ', 'error enough'])
    expect(handler.controller!.aborted).toBe(true)
    await serverSawClose
  })

  it('aborts before the head through the legacy abort callback', async () => {
    const server = await serve()
    const dispatcher = toDispatcher(track(make()))
    const errors: Error[] = []
    await new Promise<void>((resolve) => {
      dispatcher.dispatch({ origin: server.origin, path: '/hang-forever', method: 'GET' }, {
        onConnect(abort) {
          setImmediate(() => abort(new Error('cancelled by caller')))
        },
        onHeaders: () => {
          throw new Error('no head expected')
        },
        onError(error) {
          errors.push(error)
          resolve()
        },
      })
    })
    expect(errors.map((e) => e.message)).toEqual(['cancelled by caller'])
  })
})

describe.each(PATHS)('toDispatcher: destroy() (%s)', (_path, make) => {
  async function held(): Promise<{ dispatcher: Dispatcher; pending: Promise<unknown> }> {
    const server = await serve()
    const dispatcher = toDispatcher(track(make()))
    const holding = new Promise<void>((resolve) => (serverHolding = resolve))
    const pending = request(`${server.origin}/silent`, { dispatcher })
    pending.catch(() => {})
    await holding
    return { dispatcher, pending }
  }

  it('fails a request waiting for its head with the error given to destroy()', async () => {
    const { dispatcher, pending } = await held()
    await dispatcher.destroy(new Error('boom'))
    await expect(pending).rejects.toThrow('boom')
  })

  it('fails it with undici’s ClientDestroyedError without an error', async () => {
    const { dispatcher, pending } = await held()
    await dispatcher.destroy()
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' })
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
    const dispatcher = toDispatcher(track(new Transport()), { trace: () => void traced++ })
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
    const server = await serve()
    acceptEchoUpgrades(server.server)
    const agent = track(new Agent())
    let traced = 0
    const dispatcher = toDispatcher(track(new Transport()), { upgrades: agent, trace: () => void traced++ })
    const { socket } = await upgrade(server.origin, { dispatcher, protocol: 'echo' })
    socket.write('ping')
    const [echoed] = (await once(socket, 'data')) as [Buffer]
    expect(echoed.toString()).toBe('ping')
    socket.destroy()
    expect(traced).toBe(0)
  })

  it('refuses a method a Request cannot carry with RT_INVALID_DISPATCH naming the request', async () => {
    const dispatcher = toDispatcher(track(new Transport()))
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
    const rt = track(make())
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
