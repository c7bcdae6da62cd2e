import { once } from 'node:events'
import type { Socket } from 'node:net'
import { compose } from '@roundtrip/core'
import { systemClock, Transport, type Clock, type ClockTimer, type TransportOptions } from '@roundtrip/transport'
import { Agent, request, type Dispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { useDispatchFixture } from '../test/dispatch-fixture.js'
import { toDispatcher } from './to-dispatcher.js'

// A dispatch's own headersTimeout and bodyTimeout (undici.request's options,
// a Dispatcher.compose interceptor's), over undici's own Agent and over
// toDispatcher on both of its paths: the same error codes, the connection
// closed, 0 for none, and no timer of ours left once the dispatch ended.
const f = useDispatchFixture()

/** CountingClock is the system clock, counting the timers set through it by delay: which are still pending. */
interface CountingClock extends Clock {
  /** The delays of every timer set so far. */
  readonly delays: number[]
  /** How many timers of `ms` are pending (neither fired nor cleared). */
  pending(ms: number): number
}

function countingClock(): CountingClock {
  const live = new Map<ClockTimer, number>()
  const delays: number[] = []
  return {
    delays,
    now: systemClock.now,
    setTimeout(callback, ms) {
      delays.push(ms)
      const timer: ClockTimer = systemClock.setTimeout(() => {
        live.delete(timer)
        callback()
      }, ms)
      live.set(timer, ms)
      return timer
    },
    clearTimeout(timer) {
      live.delete(timer)
      systemClock.clearTimeout(timer)
    },
    pending: (ms) => [...live.values()].filter((d) => d === ms).length,
  }
}

/**
 * A server that answers `/silent` with nothing, `/stall` with a chunked head
 * and one chunk, `/stall-length` with a head of 10 bytes and 5 of them, any
 * other path at once; `closed` resolves when the socket of its last request closes.
 */
async function stallingServer(): Promise<TestServer & { closed: () => Promise<void> }> {
  let socket: Socket | undefined
  const server = f.track(
    await startServer((req, res) => {
      socket = req.socket
      if (req.url === '/silent') return
      if (req.url === '/stall') res.write('first')
      else if (req.url === '/stall-length') {
        res.writeHead(200, { 'content-length': '10' })
        res.write('first')
      } else res.end('whole body')
    }),
  )
  return Object.assign(server, {
    closed: async () => {
      if (socket !== undefined && !socket.destroyed) await once(socket, 'close')
    },
  })
}

interface Setting {
  dispatcher: Dispatcher
  clock: CountingClock | undefined
}

/** The dispatchers compared: undici's own Agent, and toDispatcher over a bare Transport (its direct path) and over a stack (the Request path). */
const SETTINGS: Array<[string, (options?: TransportOptions) => Setting]> = [
  ['undici’s own Agent', () => ({ dispatcher: new Agent(), clock: undefined })],
  [
    'toDispatcher over a bare Transport (direct path)',
    (options = {}) => {
      const clock = countingClock()
      return { dispatcher: toDispatcher(new Transport({ ...options, clock })), clock }
    },
  ],
  [
    'toDispatcher over a stack (Request path)',
    (options = {}) => {
      const clock = countingClock()
      return { dispatcher: toDispatcher(compose(new Transport({ ...options, clock }))), clock }
    },
  ],
]

type Coded = Error & { code?: string; roundTripError?: Error & { code?: string } }

async function failure(promise: Promise<unknown>): Promise<Coded> {
  try {
    await promise
  } catch (error) {
    return error as Coded
  }
  throw new Error('expected a failure')
}

describe.each(SETTINGS)('per-dispatch headersTimeout and bodyTimeout over %s', (name, make) => {
  const ours = name.startsWith('toDispatcher')

  it('a head that does not come within headersTimeout fails with UND_ERR_HEADERS_TIMEOUT, and the connection is closed', async () => {
    const server = await stallingServer()
    const { dispatcher, clock } = make()
    f.track(dispatcher)
    const error = await failure(request(`${server.origin}/silent`, { dispatcher, headersTimeout: 50 }))
    expect(error.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(error.name).toBe('HeadersTimeoutError')
    if (ours) expect(error.roundTripError?.code).toBe('RT_HEADERS_TIMEOUT')
    if (ours) expect(error.roundTripError?.message).toContain('within 50 ms')
    await server.closed()
    if (clock !== undefined) expect(clock.pending(50)).toBe(0)
  })

  it.each(['/stall', '/stall-length'])('a body that stops for bodyTimeout fails with UND_ERR_BODY_TIMEOUT, and the connection is closed (%s)', async (path) => {
    const server = await stallingServer()
    const { dispatcher, clock } = make()
    f.track(dispatcher)
    const { statusCode, body } = await request(`${server.origin}${path}`, { dispatcher, bodyTimeout: 50 })
    expect(statusCode).toBe(200)
    const error = await failure(body.text())
    expect(error.code).toBe('UND_ERR_BODY_TIMEOUT')
    expect(error.name).toBe('BodyTimeoutError')
    if (ours) expect(error.roundTripError?.code).toBe('RT_BODY_TIMEOUT')
    await server.closed()
    if (clock !== undefined) expect(clock.pending(50)).toBe(0)
  })

  it('0 sets no limit of the dispatch', async () => {
    const server = await stallingServer()
    const { dispatcher, clock } = make()
    f.track(dispatcher)
    const { statusCode, body } = await request(`${server.origin}/now`, { dispatcher, headersTimeout: 0, bodyTimeout: 0 })
    expect(statusCode).toBe(200)
    expect(await body.text()).toBe('whole body')
    if (clock !== undefined) expect(clock.delays).not.toContain(0)
  })

  it.each([
    ['headersTimeout', -1],
    ['headersTimeout', Number.POSITIVE_INFINITY],
    ['bodyTimeout', Number.NaN],
    ['bodyTimeout', '50'],
  ])('%s %s is refused with undici’s InvalidArgumentError', async (option, value) => {
    const server = await stallingServer()
    const { dispatcher } = make()
    f.track(dispatcher)
    const error = await failure(request(`${server.origin}/now`, { dispatcher, [option]: value } as never))
    expect(error.code).toBe('UND_ERR_INVALID_ARG')
    expect(error.message).toBe(`invalid ${option}`)
    expect(server.requests).toBe(0)
  })

  it('takes a fractional limit, as undici does', async () => {
    const server = await stallingServer()
    const { dispatcher } = make()
    f.track(dispatcher)
    const { body } = await request(`${server.origin}/now`, { dispatcher, headersTimeout: 5000.5, bodyTimeout: 5000.5 })
    expect(await body.text()).toBe('whole body')
  })
})

describe.each(SETTINGS.slice(1))('per-dispatch limits and the Transport’s own, over %s', (_name, make) => {
  it('arms the dispatch’s timers and leaves none behind once the response ended', async () => {
    const server = await stallingServer()
    const { dispatcher, clock } = make()
    f.track(dispatcher)
    const { body } = await request(`${server.origin}/now`, { dispatcher, headersTimeout: 4321, bodyTimeout: 4567 })
    expect(await body.text()).toBe('whole body')
    expect(clock!.delays).toContain(4321)
    expect(clock!.delays).toContain(4567)
    expect(clock!.pending(4321) + clock!.pending(4567)).toBe(0)
  })

  it('the Transport’s limit applies when it is the smaller', async () => {
    const server = await stallingServer()
    const { dispatcher } = make({ responseHeaderTimeout: 60 })
    f.track(dispatcher)
    const error = await failure(request(`${server.origin}/silent`, { dispatcher, headersTimeout: 60_000 }))
    expect(error.roundTripError?.code ?? error.code).toBe('RT_HEADERS_TIMEOUT')
    expect(error.roundTripError?.message ?? error.message).toContain('within 60 ms')
    await server.closed()
  })

  it('the dispatch’s limit applies when it is the smaller', async () => {
    const server = await stallingServer()
    const { dispatcher } = make({ responseHeaderTimeout: 60_000, bodyTimeout: 60_000 })
    f.track(dispatcher)
    const error = await failure(request(`${server.origin}/silent`, { dispatcher, headersTimeout: 40 }))
    expect(error.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(error.roundTripError?.message).toContain('within 40 ms')
    await server.closed()
  })

  it('a composed interceptor’s limits reach the dispatch, under Node’s fetch', async () => {
    const server = await stallingServer()
    const { dispatcher } = make()
    f.track(dispatcher)
    const limited = dispatcher.compose((dispatch) => (options, handler) => dispatch({ ...options, headersTimeout: 50 }, handler))
    const error = await failure(fetch(`${server.origin}/silent`, { dispatcher: limited } as unknown as RequestInit))
    expect(error).toBeInstanceOf(TypeError)
    expect((error.cause as Coded).code).toBe('UND_ERR_HEADERS_TIMEOUT')
    await server.closed()
  })
})
