import { EventEmitter, once } from 'node:events'
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { DISPATCHER_NAMES, DISPATCHERS, failure, type DispatcherName, type Failure } from '../test/faults.js'

// Aborts a trusted client makes under way, and a server that never answers,
// with Node's global fetch and with undici.request over undici's own Agent,
// toDispatcher(new Transport()) (the direct path) and a stack over a
// Transport (the Request path), against a node:http server made for each:
// what the caller observes and what the server saw (what it read, that the
// connection was closed) must be the same, and nothing may be left open.

/** What the server saw of one request. */
interface Served {
  path: string
  body: string
  /** Resolves when the request's connection has closed. */
  closed: Promise<void>
}

interface Server extends Origin {
  served: Served[]
  /** Emits `request` for each request, `data` for each chunk of a request body. */
  events: EventEmitter
}

async function server(): Promise<Server> {
  const served: Served[] = []
  const events = new EventEmitter()
  const origin = await listen((req, res) => {
    const entry: Served = {
      path: req.url ?? '',
      body: '',
      closed: new Promise((resolve) => req.socket.once('close', () => resolve())),
    }
    served.push(entry)
    req.on('data', (chunk: Buffer) => {
      entry.body += chunk.toString()
      events.emit('data')
    })
    events.emit('request')
    // A head and the first bytes of a body that never ends: small (read whole through a stack) or large (streamed).
    if (req.url === '/stream') res.writeHead(200, { 'content-length': '100' }).write('first')
    if (req.url === '/stream-large') res.writeHead(200, { 'content-length': String(1 << 20) }).write('first')
    if (req.url === '/ok') res.end('ok')
    // '/upload' and '/hang' never answer.
  })
  return Object.assign(origin, { served, events })
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Runs `scenario` over each dispatcher, each with a server of its own. */
async function across(scenario: (dispatcher: Dispatcher, server: Server) => Promise<unknown>): Promise<Record<DispatcherName, unknown>> {
  const out = {} as Record<DispatcherName, unknown>
  for (const name of DISPATCHER_NAMES) {
    const origin = await server()
    cleanups.push(() => origin.close())
    const dispatcher = DISPATCHERS[name]()
    // A test may have closed it: undici's Agent then rejects a second close().
    cleanups.push(() => dispatcher.close().catch(() => {}))
    out[name] = await scenario(dispatcher, origin)
  }
  return out
}

function expectSame(results: Record<DispatcherName, unknown>): void {
  expect({ direct: results.direct, stack: results.stack }).toEqual({
    direct: results.agent,
    stack: results.agent,
  })
}

/** A failure with its message: for an abort, whose reason is the caller's, the message says which reason it is. */
const failed = (error: unknown): Failure & { message: string } => ({
  ...failure(error),
  message: (error as Error).message,
})

/**
 * A request body that sends `first` and then waits, as a slow upload: a
 * ReadableStream for `fetch`, a Readable for undici.request; `fail` makes its
 * source fail with `error`.
 */
function slowBody(client: 'fetch' | 'request'): { body: ReadableStream<Uint8Array> | Readable; fail(error: Error): void } {
  if (client === 'request') {
    const body = new Readable({ read() {} })
    body.push('first')
    return { body, fail: (error) => body.destroy(error) }
  }
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
      c.enqueue(new TextEncoder().encode('first'))
    },
  })
  return { body, fail: (error) => controller.error(error) }
}

/** Sends one request with `signal` (a POST of `upload` when given); resolves with the response's body reader once the head has arrived. */
async function send(client: 'fetch' | 'request', url: string, dispatcher: Dispatcher, signal: AbortSignal, upload?: unknown): Promise<() => Promise<string>> {
  const post = upload === undefined ? {} : { method: 'POST', body: upload }
  if (client === 'fetch') {
    const init = { dispatcher, signal, ...post, ...(upload === undefined ? {} : { duplex: 'half' }) }
    const response = await fetch(url, init as unknown as RequestInit)
    return () => response.text()
  }
  const response = await request(url, { dispatcher, signal, ...post } as Parameters<typeof request>[1])
  return () => response.body.text()
}

describe.each(['fetch', 'request'] as const)('%s: aborts as over undici’s own Agent', (client) => {
  for (const path of ['/stream', '/stream-large']) {
    it(`fails the body read when the caller aborts after the head, and the connection is closed (${path})`, async () => {
      const results = await across(async (d, origin) => {
        const controller = new AbortController()
        const read = await send(client, `${origin.url}${path}`, d, controller.signal)
        controller.abort()
        const error = await read().then(
          () => 'read',
          (e: unknown) => failed(e),
        )
        await origin.served[0]!.closed
        return { error, served: origin.served.map((s) => s.path) }
      })
      expectSame(results)
      expect((results.agent as { error: Failure }).error.name).toBe('AbortError')
    })
  }

  it('closes the connection of a body the caller cancels, and sends the next request on a new one', async () => {
    const results = await across(async (d, origin) => {
      if (client === 'fetch') {
        const response = await fetch(`${origin.url}/stream-large`, { dispatcher: d } as unknown as RequestInit)
        await response.body!.cancel()
      } else {
        const response = await request(`${origin.url}/stream-large`, { dispatcher: d })
        response.body.destroy()
      }
      await origin.served[0]!.closed
      const read = await send(client, `${origin.url}/ok`, d, new AbortController().signal)
      return { next: await read(), served: origin.served.map((s) => s.path) }
    })
    expectSame(results)
    expect(results.agent).toEqual({ next: 'ok', served: ['/stream-large', '/ok'] })
  })

  it('fails the request when the caller aborts while the body is uploading, and the connection is closed', async () => {
    const results = await across(async (d, origin) => {
      const controller = new AbortController()
      const received = once(origin.events, 'data')
      const pending = send(client, `${origin.url}/upload`, d, controller.signal, slowBody(client).body).then(
        () => 'response',
        (e: unknown) => failed(e),
      )
      await received
      // A reason of the caller's: fetch and undici.request reject with it.
      controller.abort(new Error('the caller gave up'))
      const error = await pending
      await origin.served[0]!.closed
      return {
        error,
        served: origin.served.map((s) => `${s.path} ${s.body}`),
      }
    })
    expectSame(results)
    expect(results.agent).toEqual({ error: { name: 'Error', message: 'the caller gave up' }, served: ['/upload first'] })
  })

  it('fails the request when its body fails while uploading, and the connection is closed', async () => {
    const results = await across(async (d, origin) => {
      const upload = slowBody(client)
      const received = once(origin.events, 'data')
      const pending = send(client, `${origin.url}/upload`, d, new AbortController().signal, upload.body).then(
        () => 'response',
        (e: unknown) => failed(e),
      )
      await received
      upload.fail(new Error('the source broke'))
      const error = await pending
      await origin.served[0]!.closed
      return { error, served: origin.served.map((s) => `${s.path} ${s.body}`) }
    })
    expectSame(results)
    // Fixed: undici.request heard the Transport's RT_REQUEST_BODY_ERROR (through a stack) or RT_SOCKET_CLOSED (direct path), not the source's own error.
    const source = { name: 'Error', message: 'the source broke' }
    const error = client === 'fetch' ? { name: 'TypeError', message: 'fetch failed', cause: { name: 'Error' } } : source
    expect(results.agent).toEqual({ error, served: ['/upload first'] })
  })

  it('leaves no socket or timer behind after many requests to a server that never answers are aborted and the dispatcher closed', async () => {
    const N = 8
    const before = sockets()
    const results = await across(async (d, origin) => {
      const controllers = Array.from({ length: N }, () => new AbortController())
      const arrived = waitFor(origin.events, 'request', N)
      const pending = controllers.map((c) =>
        send(client, `${origin.url}/hang`, d, c.signal).then(
          () => 'response',
          (e: unknown) => failure(e),
        ),
      )
      await arrived
      for (const c of controllers) c.abort()
      const errors = await Promise.all(pending)
      await d.close()
      await Promise.all(origin.served.map((s) => s.closed))
      return {
        errors: [...new Set(errors.map((e) => JSON.stringify(e)))],
        served: origin.served.length,
      }
    })
    expectSame(results)
    expect(results.agent).toEqual({
      errors: [JSON.stringify({ name: 'AbortError', code: 20 })],
      served: N,
    })
    // Every client socket is closed once the dispatcher is (the servers' sockets closed too, awaited above).
    expect(await settledSockets(before)).toBe(before)
  })

  it('fails requests to a server that never answers when the dispatcher is destroyed, and closes their connections', async () => {
    const N = 4
    const before = sockets()
    const results = await across(async (d, origin) => {
      const arrived = waitFor(origin.events, 'request', N)
      const pending = Array.from({ length: N }, () =>
        send(client, `${origin.url}/hang`, d, new AbortController().signal).then(
          () => 'response',
          (e: unknown) => failure(e),
        ),
      )
      await arrived
      await d.destroy()
      const errors = await Promise.all(pending)
      await Promise.all(origin.served.map((s) => s.closed))
      return { errors: [...new Set(errors.map((e) => JSON.stringify(e)))], served: origin.served.length }
    })
    expectSame(results)
    expect((results.agent as { served: number }).served).toBe(N)
    expect(await settledSockets(before)).toBe(before)
  })
})

/** The process's open TCP sockets (client and server ends). */
function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
}

/** The socket count once closing sockets have had their few turns of the event loop to go (bounded); `target` is the count expected. */
async function settledSockets(target: number): Promise<number> {
  for (let i = 0; i < 50 && sockets() !== target; i++) await new Promise((resolve) => setImmediate(resolve))
  return sockets()
}

/** Resolves when `emitter` has emitted `event` `n` times. */
function waitFor(emitter: EventEmitter, event: string, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0
    const listener = (): void => {
      if (++seen < n) return
      emitter.off(event, listener)
      resolve()
    }
    emitter.on(event, listener)
  })
}
