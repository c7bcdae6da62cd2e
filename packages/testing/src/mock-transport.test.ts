import { createServer, type Server } from 'node:http'
import { attachHooks, CallAbortController, callSignal, compose, isRoundTripError, RoundTripResponse, roundTripper, type Middleware } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker, type LeakTracker } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { rejection } from '../test/util.js'
import { MockTransport } from './mock-transport.js'

/** A user's own middleware: retry a failed GET once, as retry layers do. */
const retryOnce: Middleware = (next) =>
  roundTripper(async (request) => {
    try {
      return await next.roundTrip(request)
    } catch (error) {
      if (request.method !== 'GET' || request.signal.aborted) throw error
      return next.roundTrip(request)
    }
  })

let tracker: LeakTracker | undefined
afterEach(() => {
  tracker?.dispose()
  tracker = undefined
})

describe('MockTransport under a user stack', () => {
  it('answers createFetch over the user middleware and the leak tracker, which sees every body read', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: 'https://api.example.com/users/:id' }).replyWithError(new TypeError('network down'))
    mock.intercept({ url: 'https://api.example.com/users/:id' }).reply((request, { params }) => ({ status: 200, body: { id: params.id, via: request.method } }))
    tracker = leakTracker({ onLeak: () => {} })
    const fetch = createFetch(compose(mock, tracker, retryOnce))

    const response = await fetch('https://api.example.com/users/42')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.url).toBe('https://api.example.com/users/42')
    expect(await response.json()).toEqual({ id: '42', via: 'GET' })
    expect(tracker.outstanding()).toEqual([])
    expect(mock.calls.map((c) => [c.status, c.error instanceof TypeError])).toEqual([
      [undefined, true],
      [200, false],
    ])
    mock.assertNoPendingInterceptors()
  })

  it('lets the leak tracker report a body the code under test forgot', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/health' }).reply(200, 'fine')
    tracker = leakTracker({ onLeak: () => {} })
    const fetch = createFetch(compose(mock, tracker))
    const response = await fetch('http://svc.local/health')
    expect(response.ok).toBe(true)
    expect(tracker.outstanding().map((l) => [l.method, l.url])).toEqual([['GET', 'http://svc.local/health']])
    await response.body?.cancel()
    expect(tracker.outstanding()).toEqual([])
  })

  it('follows a redirect through createFetch, the response saying redirected with the final url', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: 'https://a.example/old' }).reply(301, undefined, { headers: { location: '/new' } })
    mock.intercept({ url: 'https://a.example/new' }).reply(200, 'moved here')
    const response = await createFetch(mock)('https://a.example/old')
    expect([response.status, response.url, response.redirected, await response.text()]).toEqual([200, 'https://a.example/new', true, 'moved here'])
  })
})

describe('URL matchers', () => {
  const answer = async (mock: MockTransport, url: string, init?: RequestInit): Promise<string> => (await mock.roundTrip(new Request(url, init))).text()

  it('a full URL with :param segments matches that origin and captures the segments', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: 'https://api.example.com/orgs/:org/repos/:repo' }).reply((_r, { params }) => ({ body: `${params.org}/${params.repo}` })).persist()
    expect(await answer(mock, 'https://api.example.com/orgs/acme/repos/a%20b')).toBe('acme/a b')
    expect((await rejection(mock.roundTrip(new Request('https://other.example.com/orgs/acme/repos/x')))).code).toBe('RT_MOCK_NO_MATCH')
    expect((await rejection(mock.roundTrip(new Request('https://api.example.com/orgs/acme/repos')))).code).toBe('RT_MOCK_NO_MATCH')
  })

  it('a path alone matches any origin; without "?" the query is not looked at', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/ping' }).reply(200, 'pong').persist()
    expect(await answer(mock, 'http://127.0.0.1:1/ping?x=1')).toBe('pong')
    expect(await answer(mock, 'https://example.org/ping')).toBe('pong')
  })

  it('a query in the URL string must equal the request query, in any order', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/search?q=cats&page=2' }).reply(200, 'found').persist()
    expect(await answer(mock, 'http://x.test/search?page=2&q=cats')).toBe('found')
    const error = await rejection(mock.roundTrip(new Request('http://x.test/search?q=cats&page=2&extra=1')))
    expect(error.message).toContain('query is "?q=cats&page=2&extra=1", expected "?q=cats&page=2"')
  })

  it('a RegExp is tested against the whole URL', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: /\/items\/\d+$/g }).reply(200, 'item').times(2)
    expect(await answer(mock, 'http://x.test/items/7')).toBe('item')
    expect(await answer(mock, 'http://x.test/items/8')).toBe('item') // a /g RegExp does not carry lastIndex over
    expect((await rejection(mock.roundTrip(new Request('http://x.test/items/abc')))).message).toContain('does not match /\\/items\\/\\d+$/g')
  })

  it('a function gets the parsed URL', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: function internalHosts(url) { return url.hostname.endsWith('.internal') } }).reply(204)
    const response = await mock.roundTrip(new Request('http://db.internal/x'))
    expect([response.status, response.body]).toEqual([204, null])
    expect((await rejection(mock.roundTrip(new Request('http://db.example/x')))).message).toContain('refused by the predicate internalHosts')
  })

  it('the method is case-insensitive and GET by default', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/a' }).reply(200, 'get')
    mock.intercept({ url: '/a', method: 'delete' }).reply(200, 'delete')
    expect(await answer(mock, 'http://x.test/a', { method: 'DELETE' })).toBe('delete')
    expect(await answer(mock, 'http://x.test/a')).toBe('get')
  })
})

describe('header, query and body matchers', () => {
  it('headers: values, RegExps, predicates, null for absent', async () => {
    const mock = new MockTransport()
    mock
      .intercept({ url: '/h', headers: { 'X-Api-Key': 'k1', accept: /json/, 'x-n': (v) => Number(v) > 3, cookie: null } })
      .reply(200, 'ok')
      .persist()
    const ok = await mock.roundTrip(new Request('http://x.test/h', { headers: { 'x-api-key': 'k1', accept: 'application/json', 'x-n': '4' } }))
    expect(await ok.text()).toBe('ok')
    const bad = await rejection(mock.roundTrip(new Request('http://x.test/h', { headers: { 'x-api-key': 'k2', 'x-n': '1', cookie: 'a=b' } })))
    expect(bad.message).toContain('header x-api-key is "k2", expected "k1"; header accept is missing, expected /json/; header x-n is "1", expected a value the predicate accepts; header cookie is "a=b", expected it absent')
  })

  it('headers: a predicate of all the headers', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/h', headers: (h) => h.has('authorization') }).reply(200, 'authorized')
    expect(await (await mock.roundTrip(new Request('http://x.test/h', { headers: { authorization: 'Bearer t' } }))).text()).toBe('authorized')
  })

  it('query: values, arrays, RegExps, predicates', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/q', query: { tag: ['a', 'b'], page: /^\d+$/, sort: null } }).reply(200, 'list')
    mock.intercept({ url: '/q', query: (q) => q.get('mode') === 'raw' }).reply(200, 'raw')
    expect(await (await mock.roundTrip(new Request('http://x.test/q?tag=a&tag=b&page=3'))).text()).toBe('list')
    expect(await (await mock.roundTrip(new Request('http://x.test/q?mode=raw'))).text()).toBe('raw')
  })

  it('body: exact text, JSON deep-equality, RegExp, bytes, predicate', async () => {
    const mock = new MockTransport()
    mock.intercept({ method: 'POST', url: '/b', body: 'exact' }).reply(200, 'text')
    mock.intercept({ method: 'POST', url: '/b', body: { user: { id: 1 }, tags: ['x'] } }).reply(200, 'json')
    mock.intercept({ method: 'POST', url: '/b', body: /^hello/ }).reply(200, 'regexp')
    mock.intercept({ method: 'POST', url: '/b', body: new Uint8Array([0, 255]) }).reply(200, 'bytes')
    mock.intercept({ method: 'POST', url: '/b', body: (text) => text.length === 3 }).reply(200, 'predicate')
    const post = async (body: string | Uint8Array): Promise<string> => (await mock.roundTrip(new Request('http://x.test/b', { method: 'POST', body }))).text()
    expect(await post('exact')).toBe('text')
    expect(await post('{"tags":["x"],"user":{"id":1}}')).toBe('json')
    expect(await post('hello world')).toBe('regexp')
    expect(await post(new Uint8Array([0, 255]))).toBe('bytes')
    expect(await post('abc')).toBe('predicate')
  })

  it('reads the body from a clone: the request is not mutated and its body can still be read', async () => {
    const mock = new MockTransport()
    mock.intercept({ method: 'PUT', url: '/b', body: { a: 1 } }).reply(200, 'ok')
    const request = new Request('http://x.test/b', { method: 'PUT', body: '{"a":1}', headers: { 'content-type': 'application/json' } })
    await (await mock.roundTrip(request)).text()
    expect(request.bodyUsed).toBe(false)
    expect(await request.text()).toBe('{"a":1}')
    expect(new TextDecoder().decode(mock.calls[0]!.body!)).toBe('{"a":1}')
    expect(mock.calls[0]!.request).toBe(request)
  })
})

describe('times, persist and pending interceptors', () => {
  it('answers once by default, n times with times(n), always with persist()', async () => {
    const mock = new MockTransport()
    const once = mock.intercept({ url: '/once' }).reply(200, '1')
    const twice = mock.intercept({ url: '/twice' }).reply(200, '2').times(2)
    const always = mock.intercept({ url: '/always' }).reply(200, '∞').persist()
    const get = (path: string): Promise<Response> => mock.roundTrip(new Request(`http://x.test${path}`))
    expect(mock.pendingInterceptors()).toEqual([once, twice, always])
    await (await get('/once')).text()
    expect((await rejection(get('/once'))).message).toContain('already answered 1 of 1 times (use .times(n) or .persist() to answer more)')
    await (await get('/twice')).text()
    expect(mock.pendingInterceptors()).toEqual([twice, always])
    await (await get('/twice')).text()
    for (let i = 0; i < 5; i++) await (await get('/always')).text()
    expect(mock.pendingInterceptors()).toEqual([])
    expect(always.calls).toBe(5)
    mock.assertNoPendingInterceptors()
  })

  it('gives a once-only interceptor to exactly one of two concurrent requests', async () => {
    const mock = new MockTransport()
    mock.intercept({ method: 'POST', url: '/job' }).reply(201, 'created')
    mock.intercept({ method: 'POST', url: '/job' }).reply(409, 'exists')
    const post = (): Promise<Response> => mock.roundTrip(new Request('http://x.test/job', { method: 'POST', body: 'same' }))
    const statuses = (await Promise.all([post(), post()])).map((r) => (void r.body?.cancel(), r.status))
    expect(statuses.sort()).toEqual([201, 409])
  })

  it('assertNoPendingInterceptors lists what was not called, with counts', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: 'https://api.example.com/users/:id' }).reply(200, 'u').times(3)
    mock.intercept({ method: 'POST', url: '/events', body: { type: 'signup' } }).reply(202)
    mock.intercept({ url: '/config' }).reply(200, '{}').persist()
    await (await mock.roundTrip(new Request('https://api.example.com/users/1'))).text()
    const error = (() => {
      try {
        mock.assertNoPendingInterceptors()
      } catch (e) {
        return e as Error & { code: string }
      }
      throw new Error('expected a throw')
    })()
    expect(error.code).toBe('RT_MOCK_PENDING')
    expect(error.message).toBe(
      [
        '3 interceptors are still pending:',
        '  - GET https://api.example.com/users/:id: called 1 of 3 times',
        '  - POST /events (with body): called 0 of 1 times',
        '  - GET /config: persisted, called 0 times',
      ].join('\n'),
    )
  })
})

describe('no match', () => {
  it('rejects with RT_MOCK_NO_MATCH listing the closest interceptors and why each did not match', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/health' }).reply(200)
    mock.intercept({ method: 'POST', url: 'https://api.example.com/users/:id' }).reply(200)
    mock.intercept({ url: 'https://api.example.com/users/:id', headers: { authorization: /^Bearer / } }).reply(200)
    mock.intercept({ url: 'https://api.example.com/orders' }).reply(200)
    mock.intercept({ url: 'https://api.example.com/users/:id/posts' }).reply(200)
    const error = await rejection(mock.roundTrip(new Request('https://api.example.com/users/42', { headers: { authorization: 'Basic x' } })))
    expect(isRoundTripError(error, 'RT_MOCK_NO_MATCH')).toBe(true)
    expect(error.message).toBe(
      [
        'no interceptor matches GET https://api.example.com/users/42; the closest of 5:',
        '  - GET https://api.example.com/users/:id (with headers): header authorization is "Basic x", expected /^Bearer /',
        '  - POST https://api.example.com/users/:id: method is GET, expected POST',
        '  - GET https://api.example.com/orders: path /users/42 does not match /orders',
        '  (2 more not shown)',
      ].join('\n'),
    )
    expect(mock.calls[0]!.error).toBe(error)
  })

  it('says so when no interceptor is registered', async () => {
    const error = await rejection(new MockTransport().roundTrip(new Request('http://x.test/')))
    expect(error.message).toBe('no interceptor matches GET http://x.test/: none is registered (add one with mock.intercept())')
  })

  it('sends unmatched requests to the passthrough, a real Transport to a loopback server', async () => {
    const server: Server = createServer(async (req, res) => {
      let body = ''
      for await (const chunk of req) body += chunk
      res.end(`real ${req.method} ${req.url} ${body}`)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const transport = new Transport()
    try {
      const mock = new MockTransport({ passthrough: transport })
      mock.intercept({ url: '/mocked' }).reply(200, 'mocked')
      const fetch = createFetch(mock)
      expect(await (await fetch(`http://127.0.0.1:${port}/mocked`)).text()).toBe('mocked')
      expect(await (await fetch(`http://127.0.0.1:${port}/real?x=1`, { method: 'POST', body: 'b' })).text()).toBe('real POST /real?x=1 b')
      expect(mock.calls.map((c) => [c.interceptor?.description, c.status])).toEqual([
        ['GET /mocked', 200],
        [undefined, 200],
      ])
    } finally {
      await transport.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('the RoundTripper contract', () => {
  it('builds responses with createResponse: url of the request, not redirected, instanceof Response', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/r' }).reply(201, new Uint8Array([1, 2, 3]), { headers: { 'x-a': 'b' }, statusText: 'Made' })
    const response = await mock.roundTrip(new Request('http://x.test/r'))
    expect(response).toBeInstanceOf(RoundTripResponse)
    expect(response).toBeInstanceOf(Response)
    expect([response.status, response.statusText, response.url, response.redirected, response.headers.get('x-a')]).toEqual([201, 'Made', 'http://x.test/r', false, 'b'])
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([1, 2, 3])
    expect(response.clone).toBeTypeOf('function')
  })

  it('a Response returned by a reply function gets the request URL', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/r' }).reply(() => new Response('made by hand', { status: 418 }))
    const response = await mock.roundTrip(new Request('http://x.test/r'))
    expect([response.status, response.url, await response.text()]).toEqual([418, 'http://x.test/r', 'made by hand'])
  })

  it('gives HEAD requests and null-body statuses no body', async () => {
    const mock = new MockTransport()
    mock.intercept({ method: 'HEAD', url: '/r' }).reply(200, 'not sent', { headers: { 'content-length': '8' } })
    mock.intercept({ url: '/r' }).reply(304, 'not sent either')
    const head = await mock.roundTrip(new Request('http://x.test/r', { method: 'HEAD' }))
    expect([head.body, head.headers.get('content-length')]).toEqual([null, '8'])
    expect((await mock.roundTrip(new Request('http://x.test/r'))).body).toBeNull()
  })

  it('rejects with the signal reason when aborted during delay, clearing its timer', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/slow' }).reply(200, 'late').delay(60_000)
    const controller = new AbortController()
    const pending = mock.roundTrip(new Request('http://x.test/slow', { signal: controller.signal }))
    const reason = new Error('user gave up')
    setImmediate(() => controller.abort(reason))
    expect(await rejection(pending)).toBe(reason)
    expect(mock.calls[0]!.error).toBe(reason)
  })

  it("stops on the call's signal a layer above attached (a timeout() middleware), not only the request's own", async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/slow' }).reply(200, 'late').delay(60_000)
    const request = new Request('http://x.test/slow')
    const controller = new CallAbortController(callSignal(request))
    const detach = attachHooks(request, { signal: controller.signal })
    const pending = mock.roundTrip(request)
    const reason = new DOMException('deadline passed', 'TimeoutError')
    setImmediate(() => controller.abort(reason))
    // The file's handle check fails if the 60 s delay timer is left running.
    expect(await rejection(pending)).toBe(reason)
    detach()
  })

  it('rejects with the signal reason when already aborted, and when aborted while a reply function runs', async () => {
    const mock = new MockTransport()
    let cancelled!: (reason: unknown) => void
    const bodyCancelled = new Promise<unknown>((resolve) => (cancelled = resolve))
    let resolveStarted!: () => void
    const started = { promise: new Promise<void>((r) => (resolveStarted = r)) }
    // The reply is made only once the call was aborted: its response comes too late.
    let openGate!: () => void
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    mock.intercept({ url: '/r' }).reply(async () => {
      resolveStarted()
      await gate
      return new Response(new ReadableStream({ cancel: (reason) => cancelled(reason ?? 'cancelled') }))
    })
    const done = AbortSignal.abort(new Error('before'))
    expect((await rejection(mock.roundTrip(new Request('http://x.test/r', { signal: done })))).message).toBe('before')
    const controller = new AbortController()
    const pending = mock.roundTrip(new Request('http://x.test/r', { signal: controller.signal }))
    await started.promise
    controller.abort(new Error('during'))
    expect((await rejection(pending)).message).toBe('during')
    openGate()
    // The late response's body is cancelled, not left open (the test times out otherwise).
    expect(await bodyCancelled).toBeDefined()
  })

  it('streams a ReadableStream body as it is read, and errors it with the reason on abort', async () => {
    const mock = new MockTransport()
    let pull = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pull++
        if (pull <= 2) controller.enqueue(new TextEncoder().encode(`chunk${pull};`))
      },
    })
    mock.intercept({ url: '/stream' }).reply(200, stream)
    const controller = new AbortController()
    const response = await mock.roundTrip(new Request('http://x.test/stream', { signal: controller.signal }))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('chunk1;')
    controller.abort(new Error('stop'))
    await expect(reader.read()).rejects.toThrow('stop')
  })

  it('a stream body can be replied once; the second match rejects with RT_MOCK_INVALID', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/s' }).reply(200, new ReadableStream({ start: (c) => c.close() })).times(2)
    await (await mock.roundTrip(new Request('http://x.test/s'))).text()
    const error = await rejection(mock.roundTrip(new Request('http://x.test/s')))
    expect([error.code, error.message]).toEqual(['RT_MOCK_INVALID', 'interceptor GET /s replies with a stream, which can be sent once: reply with a function to make a new stream per request'])
  })
})

describe('bad input', () => {
  it('throws RT_MOCK_INVALID for a status a Response cannot carry, a bad url, times or delay', () => {
    const mock = new MockTransport()
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn()
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`
      }
      return undefined
    }
    expect(code(() => mock.intercept({ url: '/a' }).reply(103))).toBe('RT_MOCK_INVALID: reply for GET /a: status must be an integer from 200 to 599 (what a Response can carry), got 103')
    expect(code(() => mock.intercept({ url: '' }))).toBe('RT_MOCK_INVALID: intercept: url must be a URL or path string, a RegExp or a function, got an empty string')
    expect(code(() => mock.intercept({ url: 'api/users' }))).toBe('RT_MOCK_INVALID: intercept: url "api/users" is neither a full URL nor a path starting with "/"')
    expect(code(() => mock.intercept({ url: '/a' }).times(0))).toBe('RT_MOCK_INVALID: times: expected an integer >= 1, got 0')
    expect(code(() => mock.intercept({ url: '/a' }).delay(-1))).toBe('RT_MOCK_INVALID: delay: expected milliseconds >= 0, got -1')
  })

  it('rejects with RT_MOCK_INVALID when the matching interceptor has no reply or a reply function returns nonsense', async () => {
    const mock = new MockTransport()
    mock.intercept({ url: '/none' })
    mock.intercept({ url: '/bad' }).reply(() => 42 as never)
    expect((await rejection(mock.roundTrip(new Request('http://x.test/none')))).message).toBe(
      'interceptor GET /none matched GET http://x.test/none but has no reply: call .reply() or .replyWithError()',
    )
    expect((await rejection(mock.roundTrip(new Request('http://x.test/bad')))).message).toBe(
      'the reply function of GET /bad returned number: return a Response or { status, body, headers }',
    )
  })
})
