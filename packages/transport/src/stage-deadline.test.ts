import { undiciDispatch } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../test/clock.js'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { deferred } from '../test/util.js'
import { Transport } from './transport.js'

// A limit under a second runs on the Transport's clock (deadlines.ts's
// StageDeadline), on the undici direct path as on roundTrip (errors.test.ts):
// the manual clock alone makes it fire.

const f = useFixture()

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** A few turns of the event loop: long enough for an abort to reach the handler, far shorter than undici's own coarse timers (about 1 s). */
async function turns(): Promise<void> {
  for (let i = 0; i < 5; i++) await turn()
}

describe('Transport[undiciDispatch]: header and body limits under a second', () => {
  it('a body that stops arriving fails with RT_BODY_TIMEOUT; not while the handler keeps it paused, and bodyTimeout after it resumes', async () => {
    const stalls = f.serve(await startServer((req, res) => res.write('some')))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ bodyTimeout: 100, clock }))
    const calls: string[] = []
    const data = deferred()
    let resume: () => void = () => {}
    const handler = {
      onConnect: () => {},
      onHeaders: (status: number, _raw: Buffer[], go: () => void) => {
        resume = go
        calls.push(`headers ${status}`)
        return true
      },
      onData: (chunk: Buffer) => {
        calls.push(`data ${chunk.length}`)
        data.resolve()
        return false // paused: the gap is the handler's, not the server's
      },
      onComplete: () => calls.push('complete'),
      onError: (error: Error & { code?: string }) => {
        calls.push(`error ${error.code}`)
      },
    }
    expect(transport[undiciDispatch]({ origin: stalls.origin, path: '/', method: 'GET' }, handler)).toBe(true)
    await data.promise
    clock.advance(1_000)
    await turn()
    expect(calls).toEqual(['headers 200', 'data 4'])
    resume()
    clock.advance(99)
    await turn()
    expect(calls).toEqual(['headers 200', 'data 4'])
    clock.advance(1)
    await turns()
    expect(calls).toEqual(['headers 200', 'data 4', 'error RT_BODY_TIMEOUT'])
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('a head that does not come fails with RT_HEADERS_TIMEOUT once responseHeaderTimeout has passed, not before', async () => {
    const arrived = deferred()
    const silent = f.serve(await startServer(() => arrived.resolve()))
    const clock = new ManualClock()
    const transport = f.use(new Transport({ responseHeaderTimeout: 100, clock }))
    const failed = deferred<string>()
    const handler = {
      onConnect: () => {},
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => failed.resolve('complete'),
      onError: (error: Error & { code?: string }) => failed.resolve(`${error.code}: ${error.message}`),
    }
    transport[undiciDispatch]({ origin: silent.origin, path: '/slow', method: 'GET' }, handler)
    await arrived.promise
    let settled = false
    void failed.promise.then(() => (settled = true))
    clock.advance(99)
    await turn()
    expect(settled).toBe(false)
    clock.advance(1)
    await turns()
    expect(settled).toBe(true)
    expect(await failed.promise).toBe(`RT_HEADERS_TIMEOUT: no response head within 100 ms (GET ${silent.origin}/slow)`)
  })
})
