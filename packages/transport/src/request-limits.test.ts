import { undiciDispatch, withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startServer } from '../test/server.js'
import { certificate } from '../test/tls.js'
import { deferred, rejection } from '../test/util.js'
import { Transport } from './transport.js'

// A request's own header and body limits (its context's responseHeaderTimeout
// and bodyTimeout; an undici dispatch's headersTimeout and bodyTimeout) run
// on the Transport's clock, whatever their size: the manual clock alone
// makes them fire, and the smaller of the request's and the Transport's applies.

const f = useFixture()

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

describe('a request’s own header and body limits', () => {
  it('a context’s responseHeaderTimeout shorter than the Transport’s fails the request with RT_HEADERS_TIMEOUT, undici’s HeadersTimeoutError as cause', async () => {
    const arrived = deferred()
    const silent = f.serve(await startServer(() => arrived.resolve()))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ responseHeaderTimeout: 60_000, clock }))
    const failed = rejection(transport.roundTrip(withContext(new Request(`${silent.origin}/slow`), { responseHeaderTimeout: 5_000 })))
    await arrived.promise
    clock.advance(5_000)
    const error = await failed
    expect(error.code).toBe('RT_HEADERS_TIMEOUT')
    expect(error.message).toBe(`no response head within 5000 ms (GET ${silent.origin}/slow)`)
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT')
  })

  it('the Transport’s own limit applies when it is the smaller, undici’s error under it as for any head timeout', async () => {
    const arrived = deferred()
    const silent = f.serve(await startServer(() => arrived.resolve()))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ responseHeaderTimeout: 100, clock }))
    const failed = rejection(transport.roundTrip(withContext(new Request(`${silent.origin}/`), { responseHeaderTimeout: 5_000 })))
    await arrived.promise
    clock.advance(100)
    const error = await failed
    expect(error.message).toContain('within 100 ms')
    expect((error.cause as { code?: unknown }).code).toBe('UND_ERR_HEADERS_TIMEOUT')
  })

  it('a dispatch’s bodyTimeout fails its body after that long without bytes, not before', async () => {
    const stalls = f.serve(await startServer((_req, res) => res.write('some')))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ clock }))
    const data = deferred()
    const done = deferred<string>()
    const handler = {
      onConnect: () => {},
      onHeaders: () => true,
      onData: () => {
        data.resolve()
        return true
      },
      onComplete: () => done.resolve('complete'),
      onError: (error: Error & { code?: string; cause?: { code?: string } }) => done.resolve(`${error.code} ${error.cause?.code}`),
    }
    expect(transport[undiciDispatch]({ origin: stalls.origin, path: '/', method: 'GET', bodyTimeout: 2_000 }, handler)).toBe(true)
    await data.promise
    let settled = false
    void done.promise.then(() => (settled = true))
    clock.advance(1_999)
    await turn()
    expect(settled).toBe(false)
    clock.advance(1)
    expect(await done.promise).toBe('RT_BODY_TIMEOUT UND_ERR_BODY_TIMEOUT')
  })

  it('a dispatch’s headersTimeout on an HTTP/2 stream fails it with RT_HEADERS_TIMEOUT, undici’s error as cause, and resets the stream', async () => {
    const pem = await certificate()
    const arrived = deferred()
    const reset = deferred<number>()
    const server = f.serve(
      await startH2Server((req) => {
        req.stream.once('close', () => reset.resolve(req.stream.rstCode))
        arrived.resolve()
      }, { pem }),
    )
    const clock = new ManualClock()
    const transport = f.use(new Transport({ tls: { ca: pem.cert }, protocols: ['http2'], clock }))
    const done = deferred<string>()
    const handler = {
      onConnect: () => {},
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => done.resolve('complete'),
      onError: (error: Error & { code?: string; cause?: { code?: string } }) => done.resolve(`${error.code} ${error.cause?.code}`),
    }
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/silent', method: 'GET', headersTimeout: 3_000 }, handler)).toBe(true)
    await arrived.promise
    clock.advance(3_000)
    expect(await done.promise).toBe('RT_HEADERS_TIMEOUT UND_ERR_HEADERS_TIMEOUT')
    expect(await reset.promise).not.toBe(0)
  })

  it('a bad limit in the context rejects with RT_INVALID_REQUEST naming it; nothing is sent', async () => {
    let requests = 0
    const server = f.serve(await startServer((_req, res) => res.end(String(++requests))))
    const transport = f.use(new Transport())
    const error = await rejection(transport.roundTrip(withContext(new Request(`${server.origin}/`), { bodyTimeout: -1 })))
    expect(error.code).toBe('RT_INVALID_REQUEST')
    expect(error.message).toContain('invalid bodyTimeout')
    expect(requests).toBe(0)
  })

  it('a bad limit of a dispatch is refused with undici’s InvalidArgumentError', () => {
    const transport = f.use(new Transport())
    const errors: Array<Error & { code?: string }> = []
    const handler = { onConnect: () => {}, onError: (error: Error) => errors.push(error) }
    expect(transport[undiciDispatch]({ origin: 'http://127.0.0.1:1', path: '/', method: 'GET', headersTimeout: Number.NaN }, handler)).toBe(true)
    expect(errors.map((e) => `${e.code} ${e.message}`)).toEqual(['UND_ERR_INVALID_ARG invalid headersTimeout'])
  })
})
