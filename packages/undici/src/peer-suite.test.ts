import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { Agent, errors, FormData as UndiciFormData, interceptors, request, type Dispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer as createNetServer } from 'node:net'
import { listen, serve, type Origin } from '../../../test/loopback.js'
import { toDispatcher } from './to-dispatcher.js'

// Behaviours undici's own test suite (test/fetch, test/request*) checks of
// Node's fetch and undici.request over the global dispatcher, that the bridge
// must keep when `install()` puts a Transport there: each case is run over
// undici's own Agent and over toDispatcher (a bare Transport's direct path,
// and the Request path through a stack), against one loopback server.

let origin: Origin
// A raw server that sends a chunked body cut short by the end of the connection.
let truncated: Origin
const transports: Transport[] = []
const agent = new Agent()

/** The dispatchers compared: undici's own, a bare Transport, a stack over a Transport. */
function dispatchers(): [string, Dispatcher][] {
  const bare = new Transport()
  const under = new Transport()
  transports.push(bare, under)
  const stack: RoundTripper = compose(under, (next) => ({ roundTrip: (r) => next.roundTrip(r) }))
  return [
    ['undici Agent', agent],
    ['bare Transport', toDispatcher(bare)],
    ['stack', toDispatcher(stack)],
  ]
}

/** Requests to /flaky so far. */
let flaky = 0
/** Requests that should never have reached the server. */
const unexpected: string[] = []
/** The bodies of the requests to /421, as the server read them. */
const misdirected: string[] = []

beforeAll(async () => {
  truncated = await serve(createNetServer((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nhel\r\n')))
  origin = await listen((req, res) => {
    if (req.url === '/421' || req.url === '/421-chunked') {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        misdirected.push(body)
        // With a content-length, as node:http sends a body given whole; /421-chunked writes it before its end.
        res.statusCode = 421
        if (req.url === '/421') res.end('misdirected')
        else {
          // Written before its end: chunked, in one packet all the same (node:http corks the head and the first write).
          res.write('misdirected')
          res.end()
        }
      })
      return
    }
    if (req.url === '/never') unexpected.push(req.url)
    if (req.url === '/flaky') {
      // A 500 to every other request: the first of each pair fails, its retry succeeds.
      res.statusCode = flaky++ % 2 === 0 ? 500 : 200
      res.end(res.statusCode === 200 ? 'second time lucky' : 'failed')
      return
    }
    if (req.url === '/encodings') {
      res.setHeader('content-encoding', 'gzip, gzip, gzip, gzip, gzip, gzip')
      res.end('x')
      return
    }
    if (req.url === '/echo') {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => res.end(JSON.stringify({ type: req.headers['content-type'], length: req.headers['content-length'], body })))
      return
    }
    // The names of the request's headers as they came on the wire.
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(req.rawHeaders.filter((_, i) => i % 2 === 0)))
  })
})

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()))
  await agent.close()
  await origin.close()
  await truncated.close()
})

describe('header names go out in the case the caller wrote (undici test/fetch/headers-case.js)', () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`Node's fetch, over ${name}`, async () => {
      const init = { dispatcher, headers: { 'Content-Type': 'text/plain', 'X-Api-Key': 'k' } } as unknown as RequestInit
      const names = (await (await fetch(`${origin.url}/`, init)).json()) as string[]
      expect(names).toContain('Content-Type')
      expect(names).toContain('X-Api-Key')
    })

    it(`undici.request, over ${name}`, async () => {
      const { body } = await request(`${origin.url}/`, { dispatcher, headers: { 'X-Api-Key': 'k', Authorization: 'Bearer t' } })
      const names = (await body.json()) as string[]
      expect(names).toContain('X-Api-Key')
      expect(names).toContain('Authorization')
    })
  }
})

describe("Node's fetch sends a request again on a 421, with its body (undici test/fetch/issue-2898.js)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`over ${name}`, async () => {
      misdirected.length = 0
      // fetch aborts the first dispatch when it decides to send again: that dispatch must have ended by then, as it has over undici's own.
      const response = await fetch(`${origin.url}/421`, { dispatcher, method: 'POST', body: 'hello' } as unknown as RequestInit)
      expect(response.status).toBe(421)
      expect(await response.text()).toBe('misdirected')
      expect(misdirected).toEqual(['hello', 'hello'])
    })

    it(`over ${name}, a chunked response`, async () => {
      misdirected.length = 0
      const response = await fetch(`${origin.url}/421-chunked`, { dispatcher, method: 'POST', body: 'hello' } as unknown as RequestInit)
      expect(response.status).toBe(421)
      expect(await response.text()).toBe('misdirected')
      expect(misdirected).toEqual(['hello', 'hello'])
    })
  }
})

describe('undici.request reads headers as undici does (undici test/request.js, "Should include headers from iterable objects")', () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`a plain object's headers are sent though Object.prototype has an iterator, over ${name}`, async () => {
      const proto = Object.prototype as unknown as Record<symbol, unknown>
      // eslint-disable-next-line @typescript-eslint/no-empty-function
      proto[Symbol.iterator] = function* () {}
      let pending: ReturnType<typeof request>
      try {
        // The headers are read when the dispatch is made, before request() returns.
        pending = request(`${origin.url}/`, { dispatcher, headers: { 'x-polluted': 'kept' } })
      } finally {
        delete proto[Symbol.iterator]
      }
      const names = (await (await pending).body.json()) as string[]
      expect(names).toContain('x-polluted')
    })

    it(`an iterable of headers that yields no [name, value] pairs is refused, not sent, over ${name}`, async () => {
      const headers = { *[Symbol.iterator]() { yield 'Bad formatted header' } }
      const error = (await request(`${origin.url}/`, { dispatcher, headers: headers as never }).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error
      // As undici's Client refuses it (request.js asserts the class and the message).
      expect(error).toBeInstanceOf(errors.InvalidArgumentError)
      expect(error.message).toBe('headers must be in key-value pair format')
    })
  }
})

describe("a response cut short fails with undici's parser error (undici test/parser-issues.js, truncated chunked responses)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`Node's fetch rejects the body with it as the cause, over ${name}`, async () => {
      const response = await fetch(`${truncated.url}/`, { dispatcher } as unknown as RequestInit)
      expect(response.status).toBe(200)
      const error = (await response.text().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { cause?: Error }
      expect(error).toBeInstanceOf(TypeError)
      expect(error.cause?.name).toBe('HTTPParserError')
      expect(error.cause?.message).toBe('Response does not match the HTTP/1.1 protocol (Invalid EOF state)')
    })

    it(`undici.request rejects the body with it, over ${name}`, async () => {
      const { body } = await request(`${truncated.url}/`, { dispatcher })
      await expect(body.text()).rejects.toMatchObject({ name: 'HTTPParserError', message: 'Response does not match the HTTP/1.1 protocol (Invalid EOF state)' })
    })
  }
})

describe("undici.request sends undici's own FormData, a class apart from Node's global one (undici test/issue-2065.js)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`as multipart/form-data with a content-length, over ${name}`, async () => {
      const form = new UndiciFormData()
      form.set('file', new File(['abc'], 'abc.txt'))
      form.set('field', 'value')
      const { statusCode, body } = await request(`${origin.url}/echo`, { dispatcher, method: 'POST', body: form })
      expect(statusCode).toBe(200)
      const echo = (await body.json()) as { type?: string; length?: string; body: string }
      expect(echo.type).toMatch(/^multipart\/form-data; boundary=/)
      expect(Number(echo.length)).toBe(Buffer.byteLength(echo.body))
      expect(echo.body).toContain('filename="abc.txt"')
      expect(echo.body).toContain('abc')
      expect(echo.body).toContain('name="field"')
    })
  }
})

describe("undici.request rejects with the request body's own error when the body fails (undici's Client hands it on)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`an async iterable that throws, over ${name}`, async () => {
      const mine = new Error('the body failed')
      async function* body(): AsyncGenerator<string> {
        yield 'a'
        // One turn later, so the head and the first chunk are on the wire before the failure.
        await new Promise((resolve) => setImmediate(resolve))
        throw mine
      }
      await expect(request(`${origin.url}/echo`, { dispatcher, method: 'POST', body: body() as never })).rejects.toBe(mine)
    })
  }
})

/** Expects `pending` to reject with undici's InvalidArgumentError for the content-type header, the server having seen nothing. */
async function expectContentTypeRefused(pending: Promise<unknown>): Promise<void> {
  const error = (await pending.then(
    () => undefined,
    (e: unknown) => e,
  )) as Error
  expect(error).toBeInstanceOf(errors.InvalidArgumentError)
  expect(error.message).toBe('invalid content-type header')
  expect(unexpected).toEqual([])
}

describe("undici.request refuses a header value with CR or LF with undici's InvalidArgumentError, sending nothing (undici test/request-crlf.js)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`in a content-type header, over ${name}`, async () => {
      unexpected.length = 0
      const headers = { 'content-type': 'application/json\r\n\r\nGET /foo2 HTTP/1.1' }
      await expectContentTypeRefused(request(`${origin.url}/never`, { dispatcher, headers }))
    })

    it(`in the type of a Blob body, over ${name}`, async () => {
      unexpected.length = 0
      // As the suite's subclass with a `type` getter does.
      const malicious = Object.defineProperty(new Blob(['hello']), 'type', { get: () => 'text/html\r\nX-Injected: true' })
      await expectContentTypeRefused(request(`${origin.url}/never`, { dispatcher, method: 'POST', body: malicious as never }))
    })
  }
})

describe("a dispatcher composed with undici's interceptors closes and destroys (undici test/interceptors/*.js: client.compose(…).close())", () => {
  // Fresh ones: closing is what is tested. undici's compose() hands back a Proxy of the dispatcher, whose close() runs with the Proxy as `this`.
  const fresh: [string, () => Dispatcher][] = [
    ['undici Agent', () => new Agent()],
    ['bare Transport', () => toDispatcher(new Transport())],
    ['stack', () => toDispatcher(compose(new Transport(), (next) => ({ roundTrip: (r) => next.roundTrip(r) })))],
  ]
  for (const [name, make] of fresh) {
    for (const how of ['close', 'destroy'] as const) {
      it(`${how}() of the composed dispatcher, over ${name}`, async () => {
        const composed = make().compose(interceptors.dump())
        const { statusCode, body } = await request(`${origin.url}/`, { dispatcher: composed })
        expect(statusCode).toBe(200)
        await body.dump()
        await composed[how]()
        await expect(request(`${origin.url}/`, { dispatcher: composed })).rejects.toThrow()
      })
    }
  }
})

describe("a handler that throws in its response callbacks fails the dispatch, and only that (undici test/interceptors/decompress.js)", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`decompress() refusing six content-encodings rejects the request, with no uncaught exception, over ${name}`, async () => {
      const composed = dispatcher.compose(interceptors.decompress())
      const thrown: unknown[] = []
      const saved = process.listeners('uncaughtException')
      const catcher = (error: unknown): void => void thrown.push(error)
      process.removeAllListeners('uncaughtException')
      process.on('uncaughtException', catcher)
      try {
        // undici's Request catches what a handler's onHeaders or onData throws, and reports it through onError alone.
        await expect(request(`${origin.url}/encodings`, { dispatcher: composed })).rejects.toThrow('too many content-encodings')
        await new Promise((resolve) => setImmediate(resolve))
      } finally {
        process.off('uncaughtException', catcher)
        for (const listener of saved) process.on('uncaughtException', listener)
      }
      expect(thrown).toEqual([])
    })
  }
})

describe("undici's retry() interceptor retries a 500 (undici test/interceptors/retry.js): its onResponseEnd throws, which undici's Request hands to onError", () => {
  for (const [name, dispatcher] of dispatchers()) {
    it(`the retry gets the 200, with no uncaught exception, over ${name}`, async () => {
      flaky = 0
      const composed = dispatcher.compose(interceptors.retry({ minTimeout: 1, timeoutFactor: 1, maxRetries: 2 }))
      const thrown: unknown[] = []
      const saved = process.listeners('uncaughtException')
      const catcher = (error: unknown): void => void thrown.push(error)
      process.removeAllListeners('uncaughtException')
      process.on('uncaughtException', catcher)
      let status: number | undefined
      let text: string | undefined
      try {
        const response = await request(`${origin.url}/flaky`, { dispatcher: composed })
        status = response.statusCode
        text = await response.body.text()
        await new Promise((resolve) => setImmediate(resolve))
      } finally {
        process.off('uncaughtException', catcher)
        for (const listener of saved) process.on('uncaughtException', listener)
      }
      expect(thrown).toEqual([])
      expect(status).toBe(200)
      expect(text).toBe('second time lucky')
      expect(flaky).toBe(2)
    })
  }
})
