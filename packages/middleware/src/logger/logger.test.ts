import { callTrace, compose, withContext, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { collectGarbage } from '../../../../test/loopback.js'
import { closedPort, startServer, type TestServer } from '../../test/server.js'
import { retry } from '../retry/retry.js'
import { timeout } from '../timeout/timeout.js'
import { logger } from './logger.js'
import { redactLoggedUrl } from './redact.js'
import type { LogRecord } from './options.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/flaky' && server.count('/flaky') <= 2) {
      res.writeHead(503).end('no')
      return
    }
    if (url.pathname === '/chunked') {
      // No Content-Length: the body goes out chunked.
      res.write('hel')
      res.end('lo, world')
      return
    }
    if (url.pathname === '/empty') {
      res.writeHead(204).end()
      return
    }
    if (url.pathname === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('hello, gzip world'))
      return
    }
    res.setHeader('set-cookie', 'a=b')
    res.end('hello')
  })
})
afterAll(() => server.close())

let transport: Transport
afterEach(async () => {
  server.hits.clear()
  await transport.close()
})

const noWait = { sleep: async () => {} }

describe('logger over the Transport', () => {
  it('writes one record per request when the body is read: status, durations, bytes, reused connection', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (r) => records.push(r) }))
    const first = await client.roundTrip(new Request(`${server.origin}/a`))
    expect(records).toEqual([])
    expect(await first.text()).toBe('hello')
    await (await client.roundTrip(new Request(`${server.origin}/a`))).text()
    expect(records).toHaveLength(2)
    expect(records[0]).toMatchObject({ method: 'GET', url: `${server.origin}/a`, status: 200, bytes: 5, outcome: 'end', reused: false, retries: 0 })
    expect(records[1]).toMatchObject({ reused: true })
    expect(records[0]!.duration).toBeGreaterThanOrEqual(records[0]!.headDuration!)
  })

  it('learns reused from the response, attaching no trace, with a body or without one (HEAD, 204)', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const traces: unknown[] = []
    // A layer below the logger sees the call's trace as the Transport will: none.
    const spy = (next: RoundTripper): RoundTripper => ({ roundTrip: (request) => (traces.push(callTrace(request)), next.roundTrip(request)) })
    const client = compose(transport, logger({ log: (r) => records.push(r) }), spy)
    await (await client.roundTrip(new Request(`${server.origin}/a`))).text()
    await (await client.roundTrip(new Request(`${server.origin}/a`))).text()
    expect(traces).toEqual([undefined, undefined])
    expect(records.map((r) => r.reused)).toEqual([false, true])
  })

  it('records reused for responses without a body over one keep-alive connection: HEAD, HEAD, 204', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (r) => records.push(r) }))
    // A bodiless response resolves before undici hands its connection back:
    // wait for the pool to hold it idle, so the next request reuses it.
    const idle = async (): Promise<void> => {
      for (let i = 0; i < 1000 && transport.stats().total.idle !== 1; i++) await new Promise((resolve) => setImmediate(resolve))
    }
    await client.roundTrip(new Request(`${server.origin}/a`, { method: 'HEAD' }))
    await idle()
    await client.roundTrip(new Request(`${server.origin}/a`, { method: 'HEAD' }))
    await idle()
    await client.roundTrip(new Request(`${server.origin}/empty`))
    expect(transport.stats().total).toMatchObject({ requests: 3, reusedRequests: 2 })
    expect(records.map((r) => [r.method, r.status, r.reused])).toEqual([
      ['HEAD', 200, false],
      ['HEAD', 200, true],
      ['GET', 204, true],
    ])
  })

  it("keeps every hook of the caller's trace, a class's prototype methods too (a leak tracker's trace is one)", async () => {
    transport = new Transport()
    const seen: string[] = []
    class CallerTrace {
      getConn(key: string): void {
        seen.push(`getConn ${key}`)
      }
      gotConn(): void {
        seen.push('gotConn')
      }
      putIdleConn(error?: Error): void {
        seen.push(`putIdleConn ${error === undefined ? 'ok' : 'error'}`)
      }
    }
    const client = compose(transport, logger({ log: () => {} }))
    const request = withContext(new Request(`${server.origin}/a`), { trace: new CallerTrace() })
    expect(await (await client.roundTrip(request)).text()).toBe('hello')
    expect(seen).toEqual([`getConn ${server.origin}`, 'gotConn', 'putIdleConn ok'])
  })

  it('counts the bytes of a body read to the end that came without a Content-Length (chunked)', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (record) => records.push(record) }))
    const response = await client.roundTrip(new Request(`${server.origin}/chunked`))
    expect(response.headers.get('content-length')).toBeNull()
    expect(await response.text()).toBe('hello, world')
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ status: 200, bytes: 12, outcome: 'end' })
  })

  it('leaves bytes unset for a body fetch decoded (its wire size is unknown), and counts one it did not', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose({ roundTrip: (request: Request) => globalThis.fetch(request) }, logger({ log: (r) => records.push(r) }))
    expect(await (await client.roundTrip(new Request(`${server.origin}/gzip`))).text()).toBe('hello, gzip world')
    expect(await (await client.roundTrip(new Request(`${server.origin}/a`))).text()).toBe('hello')
    expect(records).toHaveLength(2)
    expect(records[0]).toMatchObject({ status: 200, outcome: 'end' })
    expect(records[0]!.bytes).toBeUndefined()
    expect(records[1]).toMatchObject({ status: 200, outcome: 'end', bytes: 5 })
  })

  it('logs a cancelled body as such, without bytes', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (r) => records.push(r) }))
    await (await client.roundTrip(new Request(`${server.origin}/a`))).body!.cancel()
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ status: 200, outcome: 'cancel' })
    expect(records[0]!.bytes).toBeUndefined()
  })

  it('redacts credentials, secret query values and secret headers', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (r) => records.push(r), headers: ['cookie', 'authorization', 'accept'] }))
    const url = `${server.origin}/a?page=2&access_token=abc&X-Amz-Signature=s1#frag`
    const request = new Request(url, { headers: { cookie: 'sid=1', authorization: 'Bearer x', accept: 'text/plain' } })
    await (await client.roundTrip(request)).text()
    expect(records[0]!.url).toBe(`${server.origin}/a?page=2&access_token=[REDACTED]&X-Amz-Signature=[REDACTED]`)
    expect(records[0]!.requestHeaders).toEqual({ cookie: '[REDACTED]', authorization: '[REDACTED]', accept: 'text/plain' })
    expect(JSON.stringify(records)).not.toMatch(/abc|sid=1|Bearer|s1|frag/)
    // A Request cannot carry credentials in its URL; a URL string from another layer can.
    expect(redactLoggedUrl('http://user:pass@h.test/p?key=1&q=a+b', (n) => n === 'key')).toBe('http://h.test/p?key=[REDACTED]&q=a+b')
  })

  it('sends failures to error and successes to info on a logger object, with the error code', async () => {
    transport = new Transport()
    const calls: Array<[string, LogRecord, string | undefined]> = []
    const log = {
      info: (r: LogRecord, m?: string) => calls.push(['info', r, m]),
      error: (r: LogRecord, m?: string) => calls.push(['error', r, m]),
    }
    const client = compose(transport, logger({ log }))
    const origin = await closedPort()
    await expect(client.roundTrip(new Request(`${origin}/x`))).rejects.toMatchObject({ code: 'RT_CONNECT_REFUSED' })
    await (await client.roundTrip(new Request(`${server.origin}/a`))).text()
    expect(calls.map(([level, r]) => [level, r.errorCode])).toEqual([
      ['error', 'RT_CONNECT_REFUSED'],
      ['info', undefined],
    ])
    expect(calls[0]![2]).toBe(`GET ${origin}/x RT_CONNECT_REFUSED ${Math.round(calls[0]![1].duration)} ms`)
  })

  it("keeps the caller's own trace hooks working", async () => {
    transport = new Transport()
    const seen: boolean[] = []
    const client = compose(transport, logger({ log: () => {} }))
    const request = withContext(new Request(`${server.origin}/a`), { trace: { gotConn: (i: { reused: boolean }) => seen.push(i.reused) } } as object)
    await (await client.roundTrip(request)).text()
    expect(seen).toEqual([false])
  })

  it('turns a throwing log into a process warning; the request goes on', async () => {
    transport = new Transport()
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    const client = compose(
      transport,
      logger({
        log: () => {
          throw new Error('sink down')
        },
      }),
    )
    expect(await (await client.roundTrip(new Request(`${server.origin}/a`))).text()).toBe('hello')
    expect(await warned).toMatchObject({ code: 'RT_LOGGER_THREW' })
  })
})

describe('logger and memory', () => {
  it('does not keep the request (and its upload) while the response body streams: only the record', async () => {
    transport = new Transport()
    let controller!: ReadableStreamDefaultController<Uint8Array>
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
    const below: RoundTripper = { roundTrip: async () => new Response(stream, { status: 200 }) }
    const records: LogRecord[] = []
    const client = compose(below, logger({ log: (record) => void records.push(record) }))
    let request: Request | undefined = new Request('http://a.test/upload', { method: 'POST', body: 'x'.repeat(1024) })
    const ref = new WeakRef(request)
    const response = await client.roundTrip(request)
    request = undefined
    await collectGarbage(() => ref.deref() === undefined)
    expect(ref.deref()).toBeUndefined()
    expect(records).toEqual([])
    controller.enqueue(new TextEncoder().encode('ok'))
    controller.close()
    expect(await response.text()).toBe('ok')
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ method: 'POST', url: 'http://a.test/upload', status: 200, outcome: 'end' })
  })
})

describe('logger and a body already used', () => {
  it('hands on, as it is, a response whose body the layer below already locked (it cannot be watched), and writes its record at the head', async () => {
    transport = new Transport()
    let locked: Response | undefined
    const below: RoundTripper = {
      roundTrip: async () => {
        locked = new Response('x')
        locked.body!.getReader()
        return locked
      },
    }
    const records: LogRecord[] = []
    const response = await compose(below, logger({ log: (record) => void records.push(record) })).roundTrip(new Request('http://a.test/'))
    expect(response).toBe(locked)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ method: 'GET', status: 200 })
    expect(records[0]!.outcome).toBeUndefined()
  })
})

describe('composition order, as documented', () => {
  it('compose(transport, logger(), retry(), timeout()) logs once per call, counting the retries', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, logger({ log: (r) => records.push(r) }), retry(noWait), timeout(5_000))
    expect(await (await client.roundTrip(new Request(`${server.origin}/flaky`))).text()).toBe('hello')
    expect(server.count('/flaky')).toBe(3)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ status: 200, retries: 2 })
    expect(records[0]!.attempt).toBeUndefined()
  })

  it('compose(transport, retry(), logger(), timeout()) logs once per attempt, numbering them', async () => {
    transport = new Transport()
    const records: LogRecord[] = []
    const client = compose(transport, retry(noWait), logger({ log: (r) => records.push(r) }), timeout(5_000))
    expect(await (await client.roundTrip(new Request(`${server.origin}/flaky`))).text()).toBe('hello')
    expect(records.map((r) => [r.status, r.attempt ?? 1, r.outcome])).toEqual([
      [503, 1, 'cancel'],
      [503, 2, 'cancel'],
      [200, 3, 'end'],
    ])
  })

  it('compose(transport, logger(), timeout(), retry()) bounds all attempts by one deadline and logs the TimeoutError once', async () => {
    transport = new Transport()
    // A connection is already open, so the first attempt is quick; its 503 leads to a wait far longer than the deadline.
    await (await transport.roundTrip(new Request(`${server.origin}/warm`))).text()
    const records: LogRecord[] = []
    const client = compose(
      transport,
      logger({ log: (r) => records.push(r) }),
      timeout(60_000),
      retry({ backoff: { base: 60_000, max: 60_000 }, random: () => 0.5 }),
    )
    // The context deadline is short for this call only.
    const short = withContext(new Request(`${server.origin}/flaky`), { timeout: 1_500 })
    const error = await client.roundTrip(short).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'TimeoutError' })
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ errorCode: 'TimeoutError', retries: 1 })
    expect(server.count('/flaky')).toBe(1)
  })

})
