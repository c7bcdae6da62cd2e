import type { ServerResponse } from 'node:http'
import { callSignal, compose, kRejectsOnAbort, observeBody, rejectsOnAbort, roundTripper, withContext, type BodyOutcome, type RoundTripper } from '@roundtrip/core'
import { createFetch, fromFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startServer, type TestServer } from '../../test/server.js'
import { timeout } from './timeout.js'

// Responses the server is holding, finished by the test (or by the server's close).
const held: ServerResponse[] = []
/** Called with each response the server starts holding. */
let onHeld: ((res: ServerResponse) => void) | undefined
let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/no-head') {
      held.push(res)
      onHeld?.(res)
      return
    }
    if (req.url === '/stalled-body') {
      res.writeHead(200, { 'content-length': '4' })
      res.write('ab')
      held.push(res)
      return
    }
    res.end('fast')
  })
})
afterAll(() => server.close())

let transport: Transport
afterEach(async () => {
  vi.useRealTimers()
  for (const res of held.splice(0)) res.destroy()
  await transport.close()
})

/** A Transport with one idle connection to the server already, so a deadline does not include the first dial (and no raced dial adds a second: raceDial). */
async function warmTransport(): Promise<Transport> {
  const t = new Transport({ raceDial: false })
  await (await t.roundTrip(new Request(`${server.origin}/fast`))).text()
  return t
}

/**
 * Reads a /stalled-body response; the server sends the rest only after `ms`:
 * the deadline under test, armed earlier with the same delay, has come by
 * then (Node runs timers of one delay in the order they were set).
 */
async function finishAfter(response: Response, ms: number): Promise<string> {
  const text = response.text()
  await new Promise((resolve) => setTimeout(resolve, ms))
  held.pop()!.end('cd')
  return text
}

/**
 * Fakes the timers the deadlines are armed with (setTimeout and clearTimeout
 * only: the sockets and the clock stay real), so that a deadline passes when
 * {@link readPastDeadline} says, however loaded the machine: a head sent at
 * once always beats it.
 */
function holdDeadlines(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
}

/**
 * Reads a /stalled-body response (its head and 'ab' arrived) while the
 * deadline of its call (fake timers: {@link holdDeadlines}) passes, then has
 * the server send the rest: the read's error, or an error saying the read
 * did not fail — 'abcd' came through, the deadline did not cover the body.
 */
async function readPastDeadline(response: Response, ms: number): Promise<unknown> {
  const text = rejection(response.text())
  await vi.advanceTimersByTimeAsync(ms)
  held.pop()!.end('cd')
  return text
}

/**
 * deafLayer is a layer that ignores the call's signal: once `answer()` lets
 * it through, it sends a fresh request of its own (`fresh(url)`) on
 * `transport`; `late` gives the promise of that request's response.
 */
function deafLayer(transport: Transport, fresh: (url: string) => Request): { deaf: RoundTripper; answer: () => void; late: Promise<Promise<Response>> } {
  let answer!: () => void
  const gate = new Promise<void>((resolve) => (answer = resolve))
  let sent!: (response: Promise<Response>) => void
  const late = new Promise<Promise<Response>>((resolve) => (sent = resolve))
  const deaf = roundTripper(async (request) => {
    await gate
    const response = transport.roundTrip(fresh(request.url))
    sent(response)
    return response
  })
  return { deaf, answer, late }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

function expectTimeoutError(error: unknown): void {
  expect(error).toBeInstanceOf(DOMException)
  expect(error).toMatchObject({ name: 'TimeoutError', message: 'The operation was aborted due to timeout' })
}

describe('timeout over the Transport', () => {
  it('rejects with a TimeoutError when the head does not arrive in time, and frees the connection', async () => {
    transport = new Transport()
    const client = compose(transport, timeout(50))
    expectTimeoutError(await rejection(client.roundTrip(new Request(`${server.origin}/no-head`))))
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('errors the body with a TimeoutError when the deadline passes while it is read (the default)', async () => {
    transport = await warmTransport()
    holdDeadlines()
    const client = compose(transport, timeout(300))
    const response = await client.roundTrip(new Request(`${server.origin}/stalled-body`))
    expect(response.status).toBe(200)
    expectTimeoutError(await readPastDeadline(response, 300))
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('with includeBody: false, stops at the head: a body finished after the deadline reads whole', async () => {
    transport = await warmTransport()
    // The head is the Transport's, fetched before the call: the layer below
    // answers in a microtask, before any timer can fire however loaded the
    // machine. A second call of the same deadline (armed later, to a server
    // that never answers) tells, by its TimeoutError, that the first call's
    // deadline has passed: no wall-clock wait is assumed long enough.
    const stalled = await transport.roundTrip(new Request(`${server.origin}/stalled-body`))
    const rest = held.at(-1)!
    const below = roundTripper((request) => (request.url.endsWith('/stalled-body') ? Promise.resolve(stalled) : transport.roundTrip(request)))
    const client = compose(below, timeout(100, { includeBody: false }))
    const response = await client.roundTrip(new Request(`${server.origin}/stalled-body`))
    const text = response.text()
    expectTimeoutError(await rejection(client.roundTrip(new Request(`${server.origin}/no-head`))))
    rest.end('cd')
    expect(await text).toBe('abcd')
  })

  it('takes a per-request deadline from the request context, 0 meaning none', async () => {
    transport = new Transport()
    const client = compose(transport, timeout(60_000))
    const short = withContext(new Request(`${server.origin}/no-head`), { timeout: 40 })
    expectTimeoutError(await rejection(client.roundTrip(short)))

    const none = compose(transport, timeout(100))
    const response = await none.roundTrip(withContext(new Request(`${server.origin}/stalled-body`), { timeout: 0 }))
    expect(await finishAfter(response, 100)).toBe('abcd')
  })

  it('keeps its aborted signal on the call until the layer below settles: a layer reading the call signal after the deadline sees it aborted', async () => {
    let checked!: (aborted: boolean) => void
    const seen = new Promise<boolean>((resolve) => (checked = resolve))
    let below!: () => void
    const late = new Promise<void>((resolve) => (below = resolve))
    const slow = roundTripper(async (request) => {
      await late
      // A layer that asks for the call's signal only now (after an await), as retry's loop does.
      checked(callSignal(request).aborted)
      throw new Error('too late')
    })
    const call = compose(slow, timeout(20)).roundTrip(new Request('http://a.test/'))
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' })
    below()
    expect(await seen).toBe(true)
  })

  it("rejects with the caller's reason when the caller aborts first", async () => {
    transport = new Transport()
    const client = compose(transport, timeout(60_000))
    const controller = new AbortController()
    const call = client.roundTrip(new Request(`${server.origin}/no-head`, { signal: controller.signal }))
    setImmediate(() => controller.abort(new Error('mine')))
    await expect(call).rejects.toThrow('mine')
    expect(transport.stats().total.active).toBe(0)
  })

  it("forwards the caller's abort to a body still being read", async () => {
    transport = new Transport()
    const client = compose(transport, timeout(60_000, { includeBody: false }))
    const controller = new AbortController()
    const response = await client.roundTrip(new Request(`${server.origin}/stalled-body`, { signal: controller.signal }))
    const text = response.text()
    controller.abort(new Error('mine'))
    await expect(text).rejects.toThrow('mine')
  })

  it('keeps its deadline over a layer below that ignores the call signal, and releases the response that comes too late', async () => {
    transport = await warmTransport()
    let released!: () => void
    const connReleased = new Promise<void>((resolve) => (released = resolve))
    // The deadline never reaches the Transport.
    const { deaf, answer, late } = deafLayer(transport, (url) => withContext(new Request(url), { trace: { putIdleConn: () => released() } }))
    const client = compose(deaf, timeout(30))
    expectTimeoutError(await rejection(client.roundTrip(new Request(`${server.origin}/stalled-body`))))
    answer()
    const response = await (await late)
    // Nobody was left to read it: the timeout layer cancelled the late body, which closed its connection.
    const outcome = await new Promise<BodyOutcome>((resolve) => observeBody(response, resolve))
    expect(outcome).toBe('cancel')
    await connReleased
    expect(transport.stats().total.active).toBe(0)
  })

  it("rejects with the caller's reason when the caller aborts, over a layer below that ignores the call signal, and releases the response that comes after", async () => {
    transport = await warmTransport()
    // Neither the caller's signal nor the deadline reaches the Transport.
    const { deaf, answer, late } = deafLayer(transport, (url) => new Request(url))
    const client = compose(deaf, timeout(60_000))
    const caller = new AbortController()
    const reason = new Error('the caller gave up')
    let outcome: unknown = 'pending'
    const call = client.roundTrip(new Request(`${server.origin}/stalled-body`, { signal: caller.signal })).then(
      () => 'resolved',
      (error: unknown) => error,
    )
    void call.then((settled) => (outcome = settled))
    caller.abort(reason)
    // No timer: the reactions to the abort have run once the event loop turns.
    await new Promise((resolve) => setImmediate(resolve))
    expect(outcome).toBe(reason)
    answer()
    const response = await (await late)
    // Nobody was left to read it: the timeout layer cancelled the late body.
    expect(await new Promise<BodyOutcome>((resolve) => observeBody(response, resolve))).toBe('cancel')
  })

  it('finds that the Transport declares kRejectsOnAbort (so its deadlines take the path without a promise of their own)', () => {
    transport = new Transport()
    expect(rejectsOnAbort(transport)).toBe(true)
    expect(rejectsOnAbort({ ...transport, roundTrip: (request: Request) => transport.roundTrip(request) })).toBe(false)
  })

  it('keeps its own deadline over a user layer spread from the next one ({ ...next, roundTrip }) that waits before calling it', async () => {
    transport = new Transport()
    let release!: () => void
    const wait = new Promise<void>((resolve) => (release = resolve))
    let released = false
    // A slow token fetch, say: it ends when the test lets it (at the latest after 2 s, so that a bug fails instead of hanging).
    const fallback = setTimeout(() => release(), 2_000)
    const slowToken = (next: RoundTripper): RoundTripper => ({
      ...next,
      roundTrip: async (request) => {
        await wait
        released = true
        return next.roundTrip(request)
      },
    })
    try {
      const error = await rejection(compose(transport, timeout(20), slowToken).roundTrip(new Request(`${server.origin}/fast`)))
      expectTimeoutError(error)
      // The deadline's own promise rejected while the user layer still waited.
      expect(released).toBe(false)
    } finally {
      clearTimeout(fallback)
      release()
    }
  })

  it('trusts a layer below that declares kRejectsOnAbort: the call settles when that layer does, with the deadline\'s error, and a late response is released', async () => {
    let answer!: () => void
    const gate = new Promise<void>((resolve) => (answer = resolve))
    let aborted!: () => void
    const deadlinePassed = new Promise<void>((resolve) => (aborted = resolve))
    let late: Response | undefined
    // Declares that it rejects at once on abort, and does not: it answers once let through.
    const liar: RoundTripper & { [kRejectsOnAbort]: true } = {
      async roundTrip(request) {
        callSignal(request).addEventListener('abort', () => aborted())
        await gate
        late = new Response('late')
        return late
      },
      [kRejectsOnAbort]: true,
    }
    let settled = false
    const call = compose(liar, timeout(20)).roundTrip(new Request('http://a.test/'))
    call.then(
      () => (settled = true),
      () => (settled = true),
    )
    await deadlinePassed
    await new Promise((resolve) => setImmediate(resolve))
    // No promise of its own: the call waits for the layer below, which promised to reject.
    expect(settled).toBe(false)
    answer()
    expectTimeoutError(await rejection(call))
    expect(late!.bodyUsed || late!.body!.locked).toBe(true)
  })

  it('hands on, with the deadline disarmed, a response whose body the layer below already locked (it cannot be watched): no error at the deadline', async () => {
    transport = new Transport()
    const thrown: unknown[] = []
    const onUncaught = (error: unknown): void => void thrown.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      for (const prompt of [false, true]) {
        let locked: Response | undefined
        const below: RoundTripper & { [kRejectsOnAbort]?: true } = {
          async roundTrip() {
            locked = new Response('x')
            locked.body!.getReader()
            return locked
          },
        }
        if (prompt) below[kRejectsOnAbort] = true
        const response = await compose(below, timeout(20)).roundTrip(new Request('http://a.test/'))
        expect(response).toBe(locked)
        // Past the deadline (a later timer of a longer delay fires after it), and the turn after.
        await new Promise((resolve) => setTimeout(resolve, 60))
        await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(thrown).toEqual([])
  })

  it('stops a fetch below it (fromFetch(globalThis.fetch)) when the deadline passes: the server sees the connection close', async () => {
    transport = new Transport()
    const socketClosed = new Promise<void>((resolve) => {
      onHeld = (res) => {
        onHeld = undefined
        const socket = res.socket
        if (socket === null || socket.destroyed) resolve()
        else socket.once('close', () => resolve())
      }
    })
    // Node's fetch is warmed up first (its global pool connected, its code compiled), so that on a loaded
    // machine the request reaches the server before the deadline; otherwise there is no socket to see close.
    await (await globalThis.fetch(`${server.origin}/fast`)).text()
    const client = compose(fromFetch(globalThis.fetch), timeout(500))
    expectTimeoutError(await rejection(client.roundTrip(new Request(`${server.origin}/no-head`))))
    await socketClosed
  })

  it('leaves a fast response alone', async () => {
    transport = new Transport()
    const client = compose(transport, timeout(5_000))
    expect(await (await client.roundTrip(new Request(`${server.origin}/fast`))).text()).toBe('fast')
  })

  it('rejects a bad deadline with RT_INVALID_OPTION', () => {
    expect(() => timeout(-1)).toThrow(/timeout: ms must be a non-negative number/)
    expect(() => (timeout as (ms?: number) => unknown)()).toThrow(/ms is required/)
    expect(() => timeout(1, { includeBody: 'yes' as never })).toThrow(/includeBody/)
  })
})

describe('timeout through createFetch', () => {
  // Node's fetch with AbortSignal.timeout(ms) rejects with the signal's reason, the DOMException itself.
  it('Node fetch with AbortSignal.timeout rejects with a TimeoutError DOMException (the reference)', async () => {
    transport = new Transport()
    expectTimeoutError(await rejection(fetch(`${server.origin}/no-head`, { signal: AbortSignal.timeout(50) })))
  })

  // createFetch passes a TimeoutError or AbortError DOMException from a layer below through as is.
  it('rejects exactly as AbortSignal.timeout does with Node fetch', async () => {
    transport = new Transport()
    const f = createFetch(compose(transport, timeout(50)))
    expectTimeoutError(await rejection(f(`${server.origin}/no-head`)))
  })

  // Without a caller signal the deadline's parent is core's neverAborted: it must still abort on its own.
  it('errors a body still being read with the TimeoutError, and frees the connection', async () => {
    transport = await warmTransport()
    holdDeadlines()
    const f = createFetch(compose(transport, timeout(300)))
    const response = await f(`${server.origin}/stalled-body`)
    expectTimeoutError(await readPastDeadline(response, 300))
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it("rejects with the caller's reason when the caller's signal aborts before the deadline", async () => {
    transport = new Transport()
    const f = createFetch(compose(transport, timeout(60_000)))
    const controller = new AbortController()
    const arrived = new Promise<void>((resolve) => (onHeld = () => resolve()))
    const sent = f(`${server.origin}/no-head`, { signal: controller.signal })
    await arrived
    onHeld = undefined
    controller.abort(new Error('mine'))
    expect(await rejection(sent)).toMatchObject({ message: 'mine' })
    expect(transport.stats().total.active).toBe(0)
  })
})
