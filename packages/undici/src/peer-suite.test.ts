import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { Agent, request, type Dispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Origin } from '../../../test/loopback.js'
import { toDispatcher } from './to-dispatcher.js'

// Behaviours undici's own test suite (test/fetch, test/request*) checks of
// Node's fetch and undici.request over the global dispatcher, that the bridge
// must keep when `install()` puts a Transport there: each case is run over
// undici's own Agent and over toDispatcher (a bare Transport's direct path,
// and the Request path through a stack), against one loopback server.

let origin: Origin
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

/** The bodies of the requests to /421, as the server read them. */
const misdirected: string[] = []

beforeAll(async () => {
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
    // The names of the request's headers as they came on the wire.
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(req.rawHeaders.filter((_, i) => i % 2 === 0)))
  })
})

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()))
  await agent.close()
  await origin.close()
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
      await expect(request(`${origin.url}/`, { dispatcher, headers: headers as never })).rejects.toThrow()
    })
  }
})
