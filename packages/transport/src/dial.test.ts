import { randomUUID } from 'node:crypto'
import type { LookupAddress } from 'node:dns'
import { connect, type LookupFunction, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer, startUnixServer, type TestServer } from '../test/server.js'
import { startSocksServer } from '../test/socks.js'
import { ManualClock } from '../test/clock.js'
import { busyCounts, deferred, get, rejection } from '../test/util.js'
import { Transport, type DialInfo } from './index.js'

const f = useFixture()

describe('Transport dial hook', () => {
  it('sends requests over a unix socket supplied by dial and reuses it', async () => {
    const unix = f.serve(await startUnixServer((req, res) => res.end(`unix ${req.method} ${req.url} host=${req.headers.host}`)))
    const infos: DialInfo[] = []
    const transport = f.use(new Transport({ raceDial: false,
      dial: (info) => {
        infos.push(info)
        return connect(unix.path)
      },
    }))
    for (const path of ['/one', '/two']) {
      const response = await transport.roundTrip(new Request(`http://service.local${path}`))
      expect(await response.text()).toBe(`unix GET ${path} host=service.local`)
    }
    expect(unix.connections).toBe(1)
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({ protocol: 'http:', hostname: 'service.local', port: 80, key: 'http://service.local:80' })
    expect(infos[0]!.signal).toBeInstanceOf(AbortSignal)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the dial hook throws', async () => {
    const transport = f.use(new Transport({
      dial: () => {
        throw new Error('no route to service')
      },
    }))
    const error = await rejection(transport.roundTrip(new Request('http://service.local/x')))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain('no route to service')
    expect(error.message).toContain('GET http://service.local/x')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the dial hook gives no socket', async () => {
    for (const none of [null, undefined, Promise.resolve(null)]) {
      const transport = f.use(new Transport({ dial: () => none as unknown as Socket }))
      expect(await rejection(transport.roundTrip(new Request('http://service.local/none')))).toMatchObject({
        code: 'RT_CONNECT_FAILED',
        message: expect.stringContaining('the dial hook gave no socket'),
      })
    }
  })

  it('a dial hook that never settles (nor heeds its signal) fails at connectTimeout; close() does not wait for it, and a socket it gives later is destroyed', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('late')))
    const late = deferred<Socket>()
    const clock = new ManualClock()
    const transport = f.use(new Transport({ clock, connectTimeout: 500, dial: () => late.promise }))
    const failed = rejection(transport.roundTrip(new Request('http://service.local/hung')))
    clock.advance(500)
    expect(await failed).toMatchObject({ code: 'RT_CONNECT_TIMEOUT' })
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    await transport.close()
    // The hook answers at last: nobody wants the socket, which is closed (the server sees it go).
    const socket = connect(server.port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    late.resolve(socket)
    await server.closedCount(1)
    expect(server.open.size).toBe(0)
  })

  it('a dial hook that settles after the connect timeout with no socket, a thenable or a rejection leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const clock = new ManualClock()
      const answers = [deferred<Socket>(), deferred<Socket>(), deferred<Socket>()]
      let next = 0
      const transport = f.use(new Transport({ clock, connectTimeout: 500, raceDial: false,
        dial: () => {
          const answer = answers[next++]!
          // The second answer is a thenable, not a Promise: it is heeded the same.
          return next === 2 ? ({ then: (ok: (s: Socket) => void, ko: (e: unknown) => void) => answer.promise.then(ok, ko) } as unknown as Promise<Socket>) : answer.promise
        },
      }))
      for (const path of ['/null', '/thenable', '/rejects']) {
        const failed = rejection(transport.roundTrip(new Request(`http://service.local${path}`)))
        await new Promise((resolve) => setImmediate(resolve))
        clock.advance(500)
        expect(await failed).toMatchObject({ code: 'RT_CONNECT_TIMEOUT' })
      }
      // A hook that heeds its signal late answers with nothing, or fails.
      answers[0]!.resolve(null as unknown as Socket)
      answers[1]!.resolve(undefined as unknown as Socket)
      answers[2]!.resolve(Promise.reject(new Error('dial gave up')) as unknown as Socket)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('rejects with RT_CONNECT_FAILED when the unix socket path does not exist', async () => {
    const path = join(tmpdir(), `roundtrip-${randomUUID()}.sock`)
    const transport = f.use(new Transport({ dial: () => connect(path) }))
    const error = await rejection(transport.roundTrip(new Request('http://service.local/')))
    // A missing socket file is ENOENT, not a refusal: reported as a failed connect.
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect((error.cause as { code?: string }).code).toBe('ENOENT')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})

/** A `lookup` (dns.lookup's shape) that answers `addresses` for every name and records what it was asked. */
function fixedLookup(addresses: LookupAddress[], asked: Array<{ hostname: string; all: boolean }> = []): LookupFunction {
  return (hostname, options, callback) => {
    asked.push({ hostname, all: options.all === true })
    if (options.all === true) process.nextTick(callback, null, addresses)
    else process.nextTick(callback, null, addresses[0]!.address, addresses[0]!.family)
  }
}

/** startServerOn starts an http server answering its own address on `host` (`127.0.0.1` or `::1`) and port 0. */
async function startServerOn(host: string): Promise<TestServer> {
  const server = await startServer((req, res) => res.end(`via ${req.socket.localAddress}`))
  if (host === '127.0.0.1') return server
  await new Promise<void>((resolve) => server.server.close(() => resolve()))
  await new Promise<void>((resolve) => server.server.listen(0, host, resolve))
  return Object.assign(server, { port: (server.server.address() as { port: number }).port })
}

const V6: LookupAddress = { address: '::1', family: 6 }
const V4: LookupAddress = { address: '127.0.0.1', family: 4 }

describe('Transport dial path: lookup and Happy Eyeballs', () => {
  it('resolves names with the lookup option, once per new connection', async () => {
    const server = f.serve(await startServer((req, res) => res.end(`host=${req.headers.host}`)))
    const asked: Array<{ hostname: string; all: boolean }> = []
    const transport = f.use(new Transport({ lookup: fixedLookup([V4], asked), disableKeepAlives: true, autoSelectFamily: false }))
    expect(await get(transport, `http://api.internal.test:${server.port}/`)).toBe(`host=api.internal.test:${server.port}`)
    expect(await get(transport, `http://api.internal.test:${server.port}/`)).toBe(`host=api.internal.test:${server.port}`)
    expect(asked).toEqual([{ hostname: 'api.internal.test', all: false }, { hostname: 'api.internal.test', all: false }])
    expect(server.connections).toBe(2)
  })

  it('fails with RT_CONNECT_FAILED and the lookup’s error as cause when it cannot resolve', async () => {
    const notFound: LookupFunction = (hostname, _options, callback) =>
      process.nextTick(callback, Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4)
    const transport = f.use(new Transport({ lookup: notFound }))
    const error = await rejection(transport.roundTrip(new Request('http://nowhere.test/')))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect((error.cause as { code?: string }).code).toBe('ENOTFOUND')
    expect(error.message).toContain('GET http://nowhere.test/')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('resolves a socks5:// target with the lookup option', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const socks = f.serve(await startSocksServer())
    const asked: Array<{ hostname: string; all: boolean }> = []
    const transport = f.use(new Transport({ proxy: `socks5://127.0.0.1:${socks.port}`, lookup: fixedLookup([V4], asked) }))
    expect(await get(transport, `http://svc.internal.test:${server.port}/`)).toBe('ok')
    expect(socks.destinations).toEqual([`127.0.0.1:${server.port}`])
    expect(asked.map((a) => a.hostname)).toEqual(['svc.internal.test'])
  })

  // localhost resolves to ::1 and 127.0.0.1 on most machines (here the lookup says so, whatever /etc/hosts holds).
  it.each([
    ['::1 refuses, 127.0.0.1 answers', [V6, V4], '127.0.0.1'],
    ['127.0.0.1 refuses, ::1 answers', [V4, V6], '::1'],
  ] as const)('connects to localhost with Happy Eyeballs when %s', async (_name, order, listening) => {
    const server = f.serve(await startServerOn(listening))
    const asked: Array<{ hostname: string; all: boolean }> = []
    const transport = f.use(new Transport({ lookup: fixedLookup([...order], asked), autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 100 }))
    expect(await get(transport, `http://localhost:${server.port}/`)).toBe(`via ${listening}`)
    expect(asked).toEqual([{ hostname: 'localhost', all: true }])
    // Without it, only the first address is tried, and it refuses.
    const single = f.use(new Transport({ lookup: fixedLookup([...order]), autoSelectFamily: false }))
    expect((await rejection(single.roundTrip(new Request(`http://localhost:${server.port}/`)))).code).toBe('RT_CONNECT_REFUSED')
  })

  it('rejects invalid lookup and Happy Eyeballs options with RT_INVALID_OPTION', () => {
    for (const [options, name] of [
      [{ lookup: 'dns' }, 'lookup'],
      [{ autoSelectFamily: 'yes' }, 'autoSelectFamily'],
      [{ autoSelectFamilyAttemptTimeout: 5 }, 'autoSelectFamilyAttemptTimeout'],
    ] as const) {
      expect(() => new Transport(options as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_OPTION', message: expect.stringContaining(name) }))
    }
  })
})
