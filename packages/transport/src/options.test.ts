import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { ManualClock } from '../test/clock.js'
import { startHoldingServer, startRawServer, startServer } from '../test/server.js'
import { rejection } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

function thrown(options: unknown): Error & { code?: string } {
  try {
    new Transport(options as never)
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error(`expected new Transport(${JSON.stringify(options)}) to throw`)
}

const DAY = 24 * 60 * 60 * 1000

/** A promise that settles after the pending I/O callbacks, to show that something did not happen when the clock moved. */
function later(): Promise<'later'> {
  return new Promise((resolve) => setImmediate(resolve, 'later'))
}

describe('Transport options: validation', () => {
  it('rejects an unknown option, naming the closest known one', () => {
    const error = thrown({ maxConnPerHost: 4 })
    expect(error.code).toBe('RT_INVALID_OPTION')
    expect(error.message).toContain('unknown Transport option maxConnPerHost (did you mean maxConnsPerHost?)')
  })

  it('rejects an unknown option unlike any known one without a guess, listing the known ones', () => {
    const error = thrown({ proxyUrl: 'http://x' })
    expect(error.code).toBe('RT_INVALID_OPTION')
    expect(error.message).not.toContain('did you mean')
    expect(error.message).toContain('idleConnTimeout')
  })

  it('rejects a flag that is not a boolean', () => {
    for (const options of [{ disableKeepAlives: 'yes' }, { disableCompression: 1 }]) {
      const error = thrown(options)
      expect(error.code).toBe('RT_INVALID_OPTION')
      expect(error.message).toContain(Object.keys(options)[0]!)
    }
  })

  it('takes Infinity and durations of 2^31 ms or more as no limit', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('ok')))
    const clock = new ManualClock()
    const transport = f.use(
      new Transport({ connectTimeout: 30 * DAY, responseHeaderTimeout: 2 ** 31, bodyTimeout: Number.POSITIVE_INFINITY, idleConnTimeout: 2 ** 40, clock }),
    )
    const response = await transport.roundTrip(new Request(server.origin))
    expect(await response.text()).toBe('ok')
    // No timer was set for any of them (Node would clamp it to 1 ms) but the idle one, which Node's Keep-Alive hint (4 s) set.
    clock.advance(3_999)
    expect(transport.stats().total.idle).toBe(1)
  })

  it('a maxWaitTime of 2^31 ms does not fail a queued request early', async () => {
    const server = f.serve(await startHoldingServer())
    const clock = new ManualClock()
    const transport = f.use(new Transport({ maxConnsPerHost: 1, maxWaitTime: 2 ** 31, clock }))
    const held = transport.roundTrip(new Request(`${server.origin}/hold`))
    await server.holding
    const queued = transport.roundTrip(new Request(`${server.origin}/next`))
    clock.advance(2 ** 32)
    expect(await Promise.race([queued.then(() => 'settled', () => 'settled'), later()])).toBe('later')
    expect(clock.pending).toBe(0)
    server.release()
    expect(await (await held).text()).toBe('/hold')
    expect(await (await queued).text()).toBe('/next')
  })

  it('a Keep-Alive hint beyond what a timer holds does not close the idle conn early', async () => {
    const server = f.serve(
      await startRawServer((socket) => socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=9999999\r\n\r\nok'))),
    )
    const clock = new ManualClock()
    const transport = f.use(new Transport({ idleConnTimeout: 0, clock }))
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    clock.advance(30 * DAY)
    expect(await later()).toBe('later')
    expect(transport.stats().total.idle).toBe(1)
  })
})

describe('Transport options: maxResponseBodySize', () => {
  it('fails a body larger than the limit with RT_RESPONSE_TOO_LARGE and closes the conn', async () => {
    const server = f.serve(await startServer((_req, res) => res.end(Buffer.alloc(300_000, 'x'))))
    const transport = f.use(new Transport({ maxResponseBodySize: 100_000 }))
    const response = await transport.roundTrip(new Request(server.origin))
    const error = await rejection(response.arrayBuffer())
    expect(error.code).toBe('RT_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('100000 bytes')
    await server.closedCount(1)
  })

  it('counts decoded bytes: a small gzip body that inflates past the limit fails', async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(100_000)
    const server = f.serve(await startServer((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb)))
    const transport = f.use(new Transport({ maxResponseBodySize: 1024 * 1024 }))
    const response = await transport.roundTrip(new Request(server.origin))
    const error = await rejection(response.arrayBuffer())
    expect(error.code).toBe('RT_RESPONSE_TOO_LARGE')
  })

  it('lets a body of exactly the limit through', async () => {
    const server = f.serve(await startServer((_req, res) => res.end(Buffer.alloc(1000, 'x'))))
    const transport = f.use(new Transport({ maxResponseBodySize: 1000 }))
    const response = await transport.roundTrip(new Request(server.origin))
    expect((await response.arrayBuffer()).byteLength).toBe(1000)
  })
})
