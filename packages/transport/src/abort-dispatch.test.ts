import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { attachHooks, CallAbortController } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server, type H2Handler } from '../test/h2.js'
import { busyCounts, deferred } from '../test/util.js'
import { Transport } from './transport.js'

// One signal, two calls: A holds the only stream of an HTTP/2 conn, B waits
// for it. When the signal aborts, A is told first: its stream is freed and
// handed to B's waiter at once, so B no longer waits when its own turn to be
// told comes. As an EventTarget skips a listener removed during the dispatch,
// B's wait must not be failed (and announced failed) after it got its stream:
// B fails in its exchange instead, with the signal's reason.

const f = useFixture()

/** The messages published on `name` while `body` runs. */
async function published(name: string, body: () => Promise<void>): Promise<unknown[]> {
  const messages: unknown[] = []
  const listener = (message: unknown): void => void messages.push(message)
  subscribe(name, listener)
  try {
    await body()
  } finally {
    unsubscribe(name, listener)
  }
  return messages
}

/** Makes the request both calls send, and what aborts it. */
const signals: Array<[string, (url: string) => { request: Request; abort(reason: unknown): void }]> = [
  [
    'an AbortSignal',
    (url) => {
      const controller = new AbortController()
      return { request: new Request(url, { signal: controller.signal }), abort: (reason) => controller.abort(reason) }
    },
  ],
  [
    'a CallAbortController a layer attached',
    (url) => {
      const request = new Request(url)
      const controller = new CallAbortController(request.signal)
      attachHooks(request, { signal: controller.signal })
      return { request, abort: (reason) => controller.abort(reason) }
    },
  ],
]

describe('Transport: a wait that ends while its signal’s abort is told', () => {
  for (const [kind, requestFor] of signals) {
    it(`is not failed once it got its stream (${kind})`, async () => {
      const inHandler = deferred()
      const handler: H2Handler = (req, res) => {
        if (req.url === '/a') return void inHandler.resolve() // never answers
        res.end(req.url)
      }
      const server = f.serve(await startH2Server(handler, { settings: { maxConcurrentStreams: 1 } }))
      const transport = f.use(new Transport({ protocols: ['h2c'], http2: { strictMaxConcurrentStreams: true } }))
      // The conn and its SETTINGS first: one stream at once.
      expect(await (await transport.roundTrip(new Request(`${server.origin}/warm`))).text()).toBe('/warm')
      const { request, abort } = requestFor(`${server.origin}/a`)
      const reason = new Error('abort both')
      let b: Promise<Response> | undefined
      const failed = await published('roundtrip:pool:wait-failed', async () => {
        const a = transport.roundTrip(request)
        await inHandler.promise
        b = transport.roundTrip(request)
        expect(transport.stats().total).toMatchObject({ streams: 1, waiting: 1 })
        abort(reason)
        await expect(a).rejects.toBe(reason)
        await expect(b).rejects.toBe(reason)
      })
      expect(failed).toEqual([])
      expect(transport.stats().total).toMatchObject({ streams: 0, waiting: 0, dials: 1 })
      expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
    })
  }
})
