import {
  chain,
  compose,
  declareRejectsOnAbort,
  declareRoundTripThen,
  kRejectsOnAbort,
  kResolvesResponse,
  kRoundTripThen,
  rejectsOnAbort,
  roundTripper,
  type Middleware,
  type RoundTripContinuation,
  type RoundTripper,
  withReplayableBody,
} from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { concurrencyLimit } from './concurrency-limit/concurrency-limit.js'
import { dedupe } from './dedupe/dedupe.js'
import { defaultHeaders } from './default-headers/default-headers.js'
import { logger } from './logger/logger.js'
import { retry } from './retry/retry.js'
import { timeout } from './timeout/timeout.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/hold') return // never answers: the server's close ends it
    if (req.url === '/flaky' && server.count('/flaky') <= 2) res.writeHead(503).end('no')
    else res.end('hello')
  })
})
afterAll(() => server.close())

let transport: Transport

/**
 * watch is a layer that counts the calls through it: `settled` resolves when
 * the first settles, `second` when a second starts. It hands each call's own
 * promise on, adding no turn to the stack it sits in.
 */
function watch(): { layer: Middleware; count: () => number; settled: Promise<void>; second: Promise<void> } {
  let count = 0
  let settle!: () => void
  let again!: () => void
  const settled = new Promise<void>((resolve) => (settle = resolve))
  const second = new Promise<void>((resolve) => (again = resolve))
  const layer: Middleware = (next) => ({
    roundTrip(request) {
      if (++count === 2) again()
      const call = next.roundTrip(request)
      call.then(settle, settle)
      return call
    },
  })
  return { layer, count: () => count, settled, second }
}
afterEach(async () => {
  server.hits.clear()
  await transport.close()
})

describe('composition order (README "Order")', () => {
  it('timeout(), retry(): once the deadline above has passed, retry makes no further attempt', async () => {
    // timeout() detaches its hooks when it gives up; retry() decided afterwards
    // whether to try again, read the call's signal only then, found it not
    // aborted, and sent another attempt nobody would abort (it held a
    // connection until the server answered). Repeated: the attempt's error
    // is retryable only in some interleavings.
    transport = new Transport()
    for (let i = 1; i <= 10; i++) {
      const calls = watch()
      const attempts = watch()
      const client = compose(transport, timeout(50), calls.layer, retry({ sleep: async () => {} }), attempts.layer)
      await expect(client.roundTrip(new Request(`${server.origin}/hold`))).rejects.toMatchObject({ name: 'TimeoutError' })
      // retry()'s call ends once it has decided; an attempt after the deadline would keep it open (nobody aborts it, the server never answers).
      await Promise.race([calls.settled, attempts.second])
      // Nothing holds or waits for a conn (a dial the attempt started may outlive it: it serves a later request).
      const { active, waiting } = transport.stats().total
      expect({ i, attempts: attempts.count(), active, waiting }).toEqual({ i, attempts: 1, active: 0, waiting: 0 })
    }
  })

  it('dedupe(), retry(): concurrent callers share the whole retried call', async () => {
    transport = new Transport()
    const client = compose(transport, dedupe(), retry({ sleep: async () => {} }))
    const texts = await Promise.all(Array.from({ length: 10 }, () => client.roundTrip(new Request(`${server.origin}/flaky`)).then((r) => r.text())))
    expect(texts).toEqual(Array(10).fill('hello'))
    expect(server.count('/flaky')).toBe(3)
  })

  it('retry(), concurrencyLimit(): the backoff wait holds no slot', async () => {
    transport = new Transport()
    let wake!: () => void
    const waiting = new Promise<void>((resolve) => (wake = resolve))
    let entered!: () => void
    const inWait = new Promise<void>((resolve) => (entered = resolve))
    const client = compose(
      transport,
      chain(
        retry({
          sleep: () => {
            entered()
            return waiting
          },
        }),
        concurrencyLimit({ max: 1 }),
      ),
    )
    const flaky = client.roundTrip(new Request(`${server.origin}/flaky`))
    await inWait
    // The flaky call waits to retry; another request gets the only slot meanwhile.
    expect(await (await client.roundTrip(new Request(`${server.origin}/other`))).text()).toBe('hello')
    wake()
    expect(await (await flaky).text()).toBe('hello')
    expect(server.count('/flaky')).toBe(3)
  })
})

describe('kRejectsOnAbort', () => {
  it('is declared by logger, retry, timeout and concurrencyLimit over a layer that declares it, and by none of them over one that does not', () => {
    const prompt: RoundTripper & { [kRejectsOnAbort]: true } = { roundTrip: async () => new Response('ok'), [kRejectsOnAbort]: true }
    const plain = roundTripper(async () => new Response('ok'))
    const passing = [logger({ log: () => {} }), retry(), timeout(1_000), concurrencyLimit({ max: 2 })]
    for (const mw of passing) {
      expect(rejectsOnAbort(mw(prompt))).toBe(true)
      expect(rejectsOnAbort(mw(plain))).toBe(false)
    }
    expect(rejectsOnAbort(chain(...passing)(prompt))).toBe(true)
  })

  it('is declared so that a spread copy of a layer ({ ...next, roundTrip }) declares neither it nor kResolvesResponse', () => {
    const prompt: RoundTripper & { [kRejectsOnAbort]: true } = { roundTrip: async () => new Response('ok'), [kRejectsOnAbort]: true }
    for (const mw of [logger({ log: () => {} }), retry(), timeout(1_000), concurrencyLimit({ max: 2 })]) {
      const declared = mw(prompt)
      expect(rejectsOnAbort(declared)).toBe(true)
      const copy = { ...declared, roundTrip: (request: Request) => declared.roundTrip(request) }
      expect(rejectsOnAbort(copy)).toBe(false)
      expect((copy as { [kResolvesResponse]?: unknown })[kResolvesResponse]).toBeUndefined()
    }
  })

  it('is not declared by defaultHeaders (a header function may keep it waiting) nor by dedupe (a caller shares another call)', () => {
    const prompt: RoundTripper & { [kRejectsOnAbort]: true } = { roundTrip: async () => new Response('ok'), [kRejectsOnAbort]: true }
    expect(rejectsOnAbort(defaultHeaders({ 'x-a': () => 'b' })(prompt))).toBe(false)
    expect(rejectsOnAbort(dedupe()(prompt))).toBe(false)
  })
})

/**
 * A base that takes its caller's continuation (core's kRoundTripThen, a class
 * method) and answers each call with the next of `outcomes` (a status, or an
 * error to reject with); it counts the calls that came with a continuation.
 */
class TakingBase implements RoundTripper {
  thens = 0
  readonly #outcomes: Array<number | Error>
  constructor(outcomes: Array<number | Error>) {
    this.#outcomes = outcomes
  }
  [kRejectsOnAbort] = true
  roundTrip(): Promise<Response> {
    const next = this.#outcomes.shift()!
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(new Response('hello', { status: next }))
  }
  static {
    declareRoundTripThen(TakingBase.prototype, function (this: TakingBase, _request: Request, k: RoundTripContinuation): Promise<Response> {
      this.thens++
      return this.roundTrip().then(
        (r) => k.received(r),
        (e: unknown) => k.failed(e),
      )
    })
  }
}

describe('kRoundTripThen', () => {
  it('chain(logger(), retry(), timeout()) reacts once per call, in the reaction of a base that takes it: the response, the record and a retry go as before', async () => {
    const records: Array<Record<string, unknown>> = []
    const base = new TakingBase([200, 503, 200])
    const client = compose(base, chain(logger({ log: (r) => records.push({ ...r }) }), retry({ sleep: async () => {} }), timeout(5_000)))
    const first = await client.roundTrip(new Request('http://example.test/a'))
    expect(await first.text()).toBe('hello')
    // The 503 is retried: the retry's attempts go through the base again, the layer above gets the last.
    const second = await client.roundTrip(new Request('http://example.test/b'))
    expect(second.status).toBe(200)
    expect(await second.text()).toBe('hello')
    expect(base.thens).toBe(3)
    expect(records.map((r) => [r.url, r.status, r.retries, r.outcome])).toEqual([
      ['http://example.test/a', 200, 0, 'end'],
      ['http://example.test/b', 200, 1, 'end'],
    ])
  })

  it('hands a failure of the base through every layer: the logger records it, the caller gets it', async () => {
    const records: Array<Record<string, unknown>> = []
    const refused = Object.assign(new Error('refused'), { code: 'RT_PROTOCOL_ERROR' })
    const base = new TakingBase([refused])
    const client = compose(base, chain(logger({ log: (r) => records.push({ ...r }) }), retry({ sleep: async () => {} }), timeout(5_000)))
    await expect(client.roundTrip(new Request('http://example.test/'))).rejects.toBe(refused)
    expect(base.thens).toBe(1)
    expect(records.map((r) => [r.status, r.errorCode])).toEqual([[undefined, 'RT_PROTOCOL_ERROR']])
  })

  it('is declared so that a spread copy of a layer ({ ...next, roundTrip }) does not take continuations around its own roundTrip', () => {
    const base = new TakingBase([])
    for (const mw of [logger({ log: () => {} }), retry(), timeout(1_000)]) {
      const declared = mw(base)
      expect(typeof (declared as { [kRoundTripThen]?: unknown })[kRoundTripThen]).toBe('object')
      const copy = { ...declared, roundTrip: (request: Request) => declared.roundTrip(request) }
      expect((copy as { [kRoundTripThen]?: unknown })[kRoundTripThen]).toBeUndefined()
    }
  })

  it('does not go around a layer whose roundTrip was replaced after it was made (vi.spyOn): the layer above calls the replacement', async () => {
    const base = new TakingBase([200, 200, 200])
    const layers: Array<[string, RoundTripper]> = [
      ['retry', retry()(base)],
      ['timeout', timeout(5_000)(base)],
      ['logger', logger({ log: () => {} })(base)],
      ['chain(retry())', chain(retry())(base)],
    ]
    for (const [name, inner] of layers) {
      const spy = vi.spyOn(inner, 'roundTrip')
      const response = await logger({ log: () => {} })(inner).roundTrip(new Request('http://example.test/'))
      await response.text()
      expect(spy, name).toHaveBeenCalledTimes(1)
    }
  })
})

/** Runs the collector (the suite runs with --expose-gc) and lets finalization and reactions run, `times` times. */
async function collect(times = 10): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  expect(gc, 'tests run with --expose-gc').toBeTypeOf('function')
  for (let i = 0; i < times; i++) {
    gc!()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('what a response keeps alive while its body is read', () => {
  // The layer above (retry) hands its per-call object down (kRoundTripThen):
  // it holds the request, its replayable body and the layer below. The layers
  // that listen to the body (logger, timeout) must let it go with the head.
  const stacks: Array<[string, () => Middleware[]]> = [
    ['retry(), logger()', () => [retry(), logger({ log: () => {} })]],
    ['retry(), timeout()', () => [retry(), timeout(60_000)]],
    ['logger(), retry(), timeout()', () => [logger({ log: () => {} }), retry(), timeout(60_000)]],
  ]
  for (const [name, make] of stacks) {
    for (const how of ['compose', 'chain'] as const) {
      it(`${how}(${name}): not the request nor its replayable upload`, async () => {
        // A body that never ends: the response is being read for as long as the test holds it. It
        // declares kRejectsOnAbort (nothing aborts here), as the Transport does: timeout() then takes
        // the reaction of the layer above.
        const base = declareRejectsOnAbort(roundTripper(async () => new Response(new ReadableStream({ pull: () => new Promise(() => {}) }))), true)
        const client = how === 'compose' ? compose(base, ...make()) : compose(base, chain(...make()))
        const { response, request, upload } = await send(client)
        await collect()
        expect(request.deref(), 'the request').toBeUndefined()
        expect(upload.deref(), 'the replayable upload').toBeUndefined()
        await response.body!.cancel()
      })
    }
  }

  /** Sends a PUT with a replayable body through `client`; only weak references to the request and its bytes stay. */
  async function send(client: RoundTripper): Promise<{ response: Response; request: WeakRef<Request>; upload: WeakRef<Uint8Array> }> {
    const bytes = new Uint8Array(1 << 16)
    const request = withReplayableBody(new Request('http://example.test/', { method: 'PUT', body: bytes }), { length: bytes.length, getBody: () => bytes })
    const response = await client.roundTrip(request)
    return { response, request: new WeakRef(request), upload: new WeakRef(bytes) }
  }
})
