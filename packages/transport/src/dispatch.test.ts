import type { ServerResponse } from 'node:http'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { undiciDispatch, withContext } from '@roundtrip/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { certificate, httpsServer } from '../test/tls.js'
import { startDroppingServer, startHoldingServer, startRawServer, startServer } from '../test/server.js'
import { closedPort, deferred, direct, rethrown } from '../test/util.js'
import { nextMessage } from '../../../test/loopback.js'
import type { ClientTrace } from './trace.js'
import { Transport } from './transport.js'

const f = useFixture()

/** A legacy handler that records every call made on it. */
function recorder(): { calls: string[]; abort?: (reason?: Error) => void; settled: Promise<void>; handler: Record<string, unknown> } {
  const done = deferred()
  const state: ReturnType<typeof recorder> = {
    calls: [],
    settled: done.promise,
    handler: {
      onConnect: (abort: (reason?: Error) => void) => {
        state.calls.push('connect')
        state.abort = abort
      },
      onHeaders: (status: number) => (state.calls.push(`headers ${status}`), true),
      onData: (chunk: Buffer) => (state.calls.push(`data ${chunk.length}`), true),
      onComplete: () => (state.calls.push('complete'), done.resolve()),
      onError: (error: Error & { code?: string }) => (state.calls.push(`error ${error.code ?? error.message}`), done.resolve()),
    },
  }
  return state
}

/** Writes `size` bytes as fast as the socket takes them; `blocked` resolves once it stops taking them. */
function writeLarge(res: ServerResponse, size: number): { written: () => number; blocked: Promise<void> } {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  const blocked = deferred()
  let written = 0
  res.writeHead(200, { 'content-length': String(size) })
  const pump = (): void => {
    while (written < size) {
      written += chunk.length
      if (!res.write(chunk)) {
        blocked.resolve()
        res.once('drain', pump)
        return
      }
    }
    res.end()
  }
  pump()
  return { written: () => written, blocked: blocked.promise }
}

describe('Transport[undiciDispatch]: undici dispatches on the pool', () => {
  it('runs Node’s fetch on the pool: stats() counts every request and later ones reuse the conn', async () => {
    const server = f.serve(await startServer((req, res) => res.end(`${req.method} ${req.url} ${req.headers['user-agent']}`)))
    const transport = f.use(new Transport({ raceDial: false }))
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.origin}/n${i}?q=1`, direct(transport))
      expect(await response.text()).toBe(`GET /n${i}?q=1 node`)
    }
    expect(server.connections).toBe(1)
    expect(transport.stats().total).toMatchObject({ requests: 3, reusedRequests: 2, active: 0, idle: 1 })
  })

  it('sends a fetch body and hands the response bytes on undecoded, for the caller to decode', async () => {
    const { gzipSync } = await import('node:zlib')
    const server = f.serve(await startServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        res.writeHead(200, { 'content-encoding': 'gzip' })
        res.end(gzipSync(`${req.headers['content-length']} ${body}`))
      })
    }))
    const transport = f.use(new Transport())
    const response = await fetch(server.origin, { ...direct(transport), method: 'POST', body: 'hello' })
    // Node's fetch decodes the gzip once: the Transport handed it the bytes as sent.
    expect(await response.text()).toBe('5 hello')
  })

  it('closes the conn after a response that says connection: close instead of pooling it', async () => {
    const server = f.serve(await startServer((_req, res) => res.writeHead(200, { connection: 'close' }).end('bye')))
    const transport = f.use(new Transport())
    for (let i = 0; i < 2; i++) expect(await (await fetch(server.origin, direct(transport))).text()).toBe('bye')
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ requests: 2, reusedRequests: 0, idle: 0 })
  })

  it('aborting Node’s fetch mid-body frees the conn: the server sees it close and the pool holds nothing', async () => {
    const closed = deferred()
    const server = f.serve(await startServer((_req, res) => {
      res.write('first')
      res.on('close', () => closed.resolve())
    }))
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const response = await fetch(server.origin, { ...direct(transport), signal: controller.signal })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first')
    expect(transport.stats().total).toMatchObject({ active: 1, holders: [{ method: 'GET', url: `${server.origin}/` }] })
    controller.abort(new Error('user left'))
    await expect(reader.read()).rejects.toThrow('user left')
    await closed.promise
    // The conn is discarded as the abort reaches it, before the server can see it close.
    expect(transport.stats().total).toMatchObject({ dials: 1, active: 0, idle: 0 })
  })

  it('back-pressures a large body: the server is held while it is unread, then every byte arrives and the conn is pooled', async () => {
    const size = 8 * 1024 * 1024
    const started = deferred<ReturnType<typeof writeLarge>>()
    const server = f.serve(await startServer((req, res) => (req.url === '/other' ? res.end('other') : started.resolve(writeLarge(res, size)))))
    const transport = f.use(new Transport())
    const response = await fetch(server.origin, direct(transport))
    const writer = await started.promise
    await writer.blocked
    // The loop has served both conns meanwhile: a client that read ahead would have let the server write on.
    expect(await (await fetch(`${server.origin}/other`, direct(transport))).text()).toBe('other')
    expect(writer.written()).toBeLessThan(size)
    expect(transport.stats().total).toMatchObject({ active: 1, idle: 1 })
    expect((await response.arrayBuffer()).byteLength).toBe(size)
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 2 })
  })

  it('queues under maxConnsPerHost; an abort while queued fails only that dispatch, which never reaches the server', async () => {
    const server = f.serve(await startHoldingServer())
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const first = fetch(`${server.origin}/hold`, direct(transport))
    await server.holding
    const queued = recorder()
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/queued', method: 'GET' }, queued.handler)).toBe(true)
    expect(transport.stats().total.waiting).toBe(1)
    queued.abort!(new Error('gave up'))
    await queued.settled
    expect(queued.calls).toEqual(['connect', 'error gave up'])
    expect(transport.stats().total.waiting).toBe(0)
    server.release()
    expect(await (await first).text()).toBe('/hold')
    expect(await (await fetch(`${server.origin}/after`, direct(transport))).text()).toBe('/after')
    expect(server.connections).toBe(1)
  })

  it('sends a GET again on a new conn when the reused one turns out stale; a POST fails with RT_SOCKET_CLOSED instead', async () => {
    const server = f.serve(await startDroppingServer())
    const transport = f.use(new Transport())
    const retries: unknown[] = []
    const onRetry = (message: unknown): void => void retries.push(message)
    subscribe('roundtrip:pool:stale-retry', onRetry)
    try {
      let idle = nextMessage('roundtrip:conn:idle')
      expect(await (await fetch(server.origin, direct(transport))).text()).toBe('ok')
      // The first conn is idle again; the server drops it when the next request arrives.
      await idle
      idle = nextMessage('roundtrip:conn:idle')
      expect(await (await fetch(`${server.origin}/again`, direct(transport))).text()).toBe('ok')
      expect(retries).toEqual([expect.objectContaining({ request: `GET ${server.origin}/again` })])
      expect(server.connections).toBe(2)
      await idle
      const post = recorder()
      transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'POST', body: 'once' }, post.handler)
      await post.settled
      expect(post.calls).toEqual(['connect', 'error RT_SOCKET_CLOSED'])
      expect(retries).toHaveLength(1)
    } finally {
      unsubscribe('roundtrip:pool:stale-retry', onRetry)
    }
  })

  it('does not send a GET again after the handler saw a 1xx head on the reused conn that then closed', async () => {
    // The second request on a conn gets `103 Early Hints`, then the conn closes.
    const server = f.serve(await startRawServer((socket) => {
      let requests = 0
      socket.on('data', (data: Buffer) => {
        for (let i = data.toString('latin1').split('\r\n\r\n').length - 1; i > 0; i--) {
          if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
          else socket.end('HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n')
        }
      })
    }))
    const transport = f.use(new Transport({ raceDial: false }))
    const idle = nextMessage('roundtrip:conn:idle')
    expect(await (await fetch(server.origin, direct(transport))).text()).toBe('ok')
    await idle
    const state = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/again', method: 'GET' }, state.handler)
    await state.settled
    expect(state.calls).toEqual(['connect', 'headers 103', 'error RT_SOCKET_CLOSED'])
    expect(server.connections).toBe(1)
  })

  it('fails with the Transport’s coded errors: a refused connect, a wait past maxWaitTime, a head past responseHeaderTimeout, a closed transport', async () => {
    const transport = f.use(new Transport())
    const refused = recorder()
    transport[undiciDispatch]({ origin: `http://127.0.0.1:${await closedPort()}`, path: '/', method: 'GET' }, refused.handler)
    await refused.settled
    expect(refused.calls).toEqual(['connect', 'error RT_CONNECT_REFUSED'])

    const server = f.serve(await startHoldingServer())
    const limited = f.use(new Transport({ maxConnsPerHost: 1, maxWaitTime: 20 }))
    const held = fetch(`${server.origin}/hold`, direct(limited))
    await server.holding
    const waited = recorder()
    limited[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, waited.handler)
    await waited.settled
    expect(waited.calls).toEqual(['connect', 'error RT_POOL_EXHAUSTED'])
    server.release()
    await (await held).text()

    const silent = f.serve(await startHoldingServer())
    const slow = f.use(new Transport({ responseHeaderTimeout: 50 }))
    const timed = recorder()
    slow[undiciDispatch]({ origin: silent.origin, path: '/hold', method: 'GET' }, timed.handler)
    await timed.settled
    expect(timed.calls).toEqual(['connect', 'error RT_HEADERS_TIMEOUT'])
    silent.release()

    await transport.close()
    const late = recorder()
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, late.handler)).toBe(true)
    expect(late.calls).toEqual(['error RT_TRANSPORT_CLOSED'])
  })

  it('fails a body that stalls past a bodyTimeout under 1 s with RT_BODY_TIMEOUT, and one under a limit of 1 s or more not before it', async () => {
    const stalling = f.serve(await startServer((_req, res) => res.write('first')))
    const slow = f.use(new Transport({ bodyTimeout: 50 }))
    const timed = recorder()
    slow[undiciDispatch]({ origin: stalling.origin, path: '/', method: 'GET' }, timed.handler)
    await timed.settled
    expect(timed.calls).toEqual(['connect', 'headers 200', 'data 5', 'error RT_BODY_TIMEOUT'])
    const done = f.serve(await startServer((_req, res) => res.end('body')))
    const coarse = f.use(new Transport({ bodyTimeout: 5000, responseHeaderTimeout: 5000 }))
    const whole = recorder()
    coarse[undiciDispatch]({ origin: done.origin, path: '/', method: 'GET' }, whole.handler)
    await whole.settled
    expect(whole.calls).toEqual(['connect', 'headers 200', 'data 4', 'complete'])
  })

  it('fails with the error the caller’s onHeaders or onData throws, discards the conn and does not throw it again (as undici’s Request)', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('body')))
    const transport = f.use(new Transport())
    for (const [hook, message] of [['onHeaders', 'boom in headers'], ['onData', 'boom in data']] as const) {
      const state = recorder()
      state.handler[hook] = () => {
        throw new Error(message)
      }
      const thrown = await rethrown(async () => {
        transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, state.handler)
        await state.settled
      })
      expect(state.calls).toEqual(hook === 'onHeaders' ? ['connect', `error ${message}`] : ['connect', 'headers 200', `error ${message}`])
      expect(thrown).toEqual([])
      expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
    }
  })

  it('refuses, touching nothing, what the Request path should take: upgrades, CONNECT, TRACE, a GET body, FormData, undici 7 handlers, a query for a pool that may speak HTTP/2', async () => {
    const server = f.serve(await startServer((_req, res) => res.end()))
    const transport = f.use(new Transport())
    const state = recorder()
    const refused = [
      { origin: server.origin, path: '/', method: 'GET', upgrade: 'websocket' },
      { origin: server.origin, path: '127.0.0.1:1', method: 'CONNECT' },
      { origin: server.origin, path: '/', method: 'TRACE' },
      { origin: server.origin, path: '/', method: 'GET', body: 'x' },
      { origin: server.origin, path: '/', method: 'POST', body: new FormData() },
      // undici's `query` on an https origin whose first handshake has not said whether it speaks HTTP/2.
      { origin: 'https://127.0.0.1:1', path: '/', method: 'GET', query: { a: 1 } },
    ]
    for (const options of refused) expect(transport[undiciDispatch](options, state.handler)).toBe(false)
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, { ...state.handler, onRequestStart() {} })).toBe(false)
    expect(state.calls).toEqual([])
    expect(transport.stats().total.requests).toBe(0)
  })
})

describe('Transport[undiciDispatch]: undici dispatches to TLS origins, on HTTP/2 streams or HTTP/1.1 conns', () => {
  let pem: { key: string; cert: string }
  beforeAll(async () => {
    pem = await certificate()
  })

  it('runs concurrent Node fetches on the streams of one session: bodies sent, bytes handed on undecoded, stats counted', async () => {
    const { gzipSync } = await import('node:zlib')
    const server = f.serve(await startH2Server((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        res.setHeader('set-cookie', ['a=1', 'b=2'])
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-encoding': 'gzip' })
          res.end(gzipSync(`${req.method} ${body}`))
        } else res.end(`h2 ${req.method} ${req.url} ${body}`)
      })
    }, { pem }))
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const init = direct(transport)
    const bodies = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await fetch(`${server.origin}/${i}`, init)).text()))
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `h2 GET /${i} `))
    const posted = await fetch(`${server.origin}/gzip`, { ...init, method: 'POST', body: 'hello' })
    expect(posted.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    // Node's fetch decodes the gzip once: the stream handed it the bytes as sent.
    expect(await posted.text()).toBe('POST hello')
    expect(server.sessions()).toBe(1)
    const total = transport.stats().total
    expect(total).toMatchObject({ dials: 1, requests: 21, active: 0, streams: 0 })
    expect(total.http2).toMatchObject([{ streams: 0, requests: 21 }])
  })

  it('runs on an HTTPS origin whose ALPN chose HTTP/1.1 too: the conn’s undici client, reused', async () => {
    const server = f.serve(await httpsServer(pem))
    const transport = f.use(new Transport({ raceDial: false, tls: { ca: pem.cert } }))
    for (const path of ['/a', '/b']) expect(await (await fetch(`${server.origin}${path}`, direct(transport))).text()).toBe(`secure ${path}`)
    expect(server.connections()).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 2, reusedRequests: 1, idle: 1, http2: [] })
  })

  it('hands a large body on as Node’s fetch reads it, pausing the stream between reads', async () => {
    const size = 4 * 1024 * 1024
    const server = f.serve(await startH2Server((_req, res) => res.end(Buffer.alloc(size, 0x61)), { pem }))
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const response = await fetch(server.origin, direct(transport))
    expect((await response.arrayBuffer()).byteLength).toBe(size)
    expect(transport.stats().total).toMatchObject({ requests: 1, streams: 0 })
  })

  it('calls a dispatch’s trace hooks as roundTrip calls a Request’s, from the TLS handshake to the stream’s release', async () => {
    const server = f.serve(await startH2Server((req, res) => res.end(`h2 ${req.url}`), { pem }))
    const logs: string[][] = []
    for (const viaDispatch of [true, false]) {
      const log: string[] = []
      const trace: ClientTrace = {
        getConn: () => log.push('getConn'),
        connectStart: () => log.push('connectStart'),
        connectDone: () => log.push('connectDone'),
        tlsHandshakeStart: () => log.push('tlsHandshakeStart'),
        tlsHandshakeDone: (state) => log.push(`tlsHandshakeDone ${state.alpnProtocol}`),
        gotConn: (info) => log.push(`gotConn ${info.protocol} reused=${info.reused}`),
        wroteRequest: () => log.push('wroteRequest'),
        gotFirstResponseByte: () => log.push('gotFirstResponseByte'),
        putIdleConn: (error) => log.push(`putIdleConn${error === undefined ? '' : ' error'}`),
      }
      const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
      for (const path of ['/a', '/b']) {
        if (viaDispatch) {
          const dispatcher = { dispatch: (options: object, handler: object) => transport[undiciDispatch](options, handler, trace) }
          expect(await (await fetch(`${server.origin}${path}`, { dispatcher } as RequestInit)).text()).toBe(`h2 ${path}`)
        } else {
          expect(await (await transport.roundTrip(withContext(new Request(`${server.origin}${path}`), { trace }))).text()).toBe(`h2 ${path}`)
        }
      }
      logs.push(log)
    }
    expect(logs[0]).toEqual([
      'getConn',
      'connectStart',
      'connectDone',
      'tlsHandshakeStart',
      'tlsHandshakeDone h2',
      'gotConn h2 reused=false',
      'wroteRequest',
      'gotFirstResponseByte',
      'putIdleConn',
      'getConn',
      'gotConn h2 reused=true',
      'wroteRequest',
      'gotFirstResponseByte',
      'putIdleConn',
    ])
    expect(logs[1]).toEqual(logs[0])
  })

  it('an abort mid-body resets only that stream: the session stays and serves the next dispatch', async () => {
    const reset = deferred()
    const server = f.serve(await startH2Server((req, res) => {
      if (req.url === '/held') {
        res.write('first')
        res.stream.on('close', () => reset.resolve())
      } else res.end('next')
    }, { pem }))
    const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
    const controller = new AbortController()
    const response = await fetch(`${server.origin}/held`, { ...direct(transport), signal: controller.signal })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first')
    expect(transport.stats().total).toMatchObject({ streams: 1, holders: [{ method: 'GET', url: `${server.origin}/held` }] })
    controller.abort(new Error('user left'))
    await expect(reader.read()).rejects.toThrow('user left')
    await reset.promise
    expect(await (await fetch(`${server.origin}/next`, direct(transport))).text()).toBe('next')
    expect(server.sessions()).toBe(1)
    expect(transport.stats().total).toMatchObject({ dials: 1, requests: 2, streams: 0 })
  })
})
