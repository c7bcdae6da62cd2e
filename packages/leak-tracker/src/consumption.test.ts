import { compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { leakTracker, type LeakTracker } from './leak-tracker.js'
import type { Leak } from './leak.js'

const JSON_BODY = '{"hello":"world","n":[1,2,3]}'
const FORM_BODY = 'a=1&b=two'

let server: TestServer
let openGate: () => void = () => {}
let gate: Promise<void> = Promise.resolve()
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/form') {
      res.setHeader('content-type', 'application/x-www-form-urlencoded')
      res.end(FORM_BODY)
      return
    }
    // Two chunks, so stream consumers see more than one read.
    res.setHeader('content-type', 'application/json')
    res.write(JSON_BODY.slice(0, 10))
    if (req.url === '/gated') {
      // The rest only once the test opens the gate: Node 24's server may
      // otherwise send both writes in one chunk.
      void gate.then(() => res.end(JSON_BODY.slice(10)))
      return
    }
    res.end(JSON_BODY.slice(10))
  })
})
afterAll(() => server.close())

const decode = (bytes: ArrayBuffer | Uint8Array): string => new TextDecoder().decode(bytes)

async function readStream(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = ''
  const decoder = new TextDecoder()
  for await (const chunk of stream) out += decoder.decode(chunk, { stream: true })
  return out + decoder.decode()
}

/** Every way of reading a body to the end, each returning the text it read. */
const readers: Array<[string, (r: Response) => Promise<string>]> = [
  ['text()', (r) => r.text()],
  ['json()', async (r) => JSON.stringify(await r.json())],
  ['arrayBuffer()', async (r) => decode(await r.arrayBuffer())],
  ['blob()', async (r) => (await r.blob()).text()],
  [
    'a reader to the end',
    async (r) => {
      const reader = r.body!.getReader()
      const chunks: Uint8Array[] = []
      for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value)
      return decode(Buffer.concat(chunks))
    },
  ],
  ['for await', (r) => readStream(r.body!)],
  [
    'pipeTo()',
    async (r) => {
      const chunks: Uint8Array[] = []
      await r.body!.pipeTo(new WritableStream({ write: (chunk) => void chunks.push(chunk) }))
      return decode(Buffer.concat(chunks))
    },
  ],
  [
    'pipeThrough()',
    async (r) => {
      let out = ''
      for await (const s of r.body!.pipeThrough(new TextDecoderStream())) out += s
      return out
    },
  ],
  [
    'clone() with both branches read',
    async (r) => {
      const copy = r.clone()
      const [a, b] = await Promise.all([r.text(), copy.text()])
      expect(b).toBe(a)
      return a
    },
  ],
]

// bytes() where this Node has it (undici's types may not list it yet).
if (typeof (Response.prototype as { bytes?: unknown }).bytes === 'function') {
  readers.push(['bytes()', async (r) => decode(await (r as Response & { bytes(): Promise<Uint8Array> }).bytes())])
}

/** Every way of cancelling a body. */
const cancellers: Array<[string, (r: Response) => Promise<void>]> = [
  ['body.cancel()', (r) => r.body!.cancel()],
  [
    "a reader's cancel() after one read",
    async (r) => {
      const reader = r.body!.getReader()
      await reader.read()
      await reader.cancel()
    },
  ],
  ['clone() with both branches cancelled', async (r) => void (await Promise.all([r.clone().body!.cancel(), r.body!.cancel()]))],
]

let transport: Transport | undefined
afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  transport = undefined
})

/** The RoundTrippers the tracker must work over. */
const bases: Array<[string, () => RoundTripper]> = [
  ['the Transport', () => (transport = new Transport())],
  // What fromFetch(globalThis.fetch) is: foreign responses from Node's fetch.
  ['Node’s fetch', () => roundTripper((request) => fetch(request))],
  [
    'a test double',
    () =>
      roundTripper(async (request) => {
        const form = request.url.endsWith('/form')
        return new Response(form ? FORM_BODY : JSON_BODY, {
          headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
        })
      }),
  ],
]

describe.each(bases)('over %s', (_name, makeBase) => {
  let tracker: LeakTracker
  let leaks: Leak[]
  let client: RoundTripper
  afterEach(() => tracker.dispose())

  function setUp(): void {
    leaks = []
    tracker = leakTracker({ onLeak: (leak) => leaks.push(leak) })
    client = compose(makeBase(), tracker)
  }

  async function get(path = '/'): Promise<Response> {
    const response = await client.roundTrip(new Request(server.origin + path))
    expect(tracker.outstanding()).toHaveLength(1)
    return response
  }

  it.each(readers)('settles a body read with %s', async (_how, read) => {
    setUp()
    const response = await get()
    expect(await read(response)).toBe(JSON_BODY)
    expect(tracker.outstanding()).toEqual([])
    expect(() => tracker.assertNoLeaks()).not.toThrow()
    expect(leaks).toEqual([])
  })

  it('settles a body read with formData()', async () => {
    setUp()
    const response = await get('/form')
    const form = await response.formData()
    expect([...form]).toEqual([
      ['a', '1'],
      ['b', 'two'],
    ])
    expect(tracker.outstanding()).toEqual([])
  })

  it.each(cancellers)('settles a body cancelled with %s', async (_how, cancel) => {
    setUp()
    await cancel(await get())
    expect(tracker.outstanding()).toEqual([])
    expect(() => tracker.assertNoLeaks()).not.toThrow()
  })

  it('keeps a clone open while one branch is unread, and settles it when that branch is read', async () => {
    setUp()
    gate = new Promise((resolve) => (openGate = resolve))
    const response = await get('/gated')
    const copy = response.clone()
    await copy.body!.getReader().read()
    expect(tracker.outstanding()).toHaveLength(1)
    openGate()
    // Reading the other branch to the end pulls the source to its end.
    expect(await response.text()).toBe(JSON_BODY)
    expect(tracker.outstanding()).toEqual([])
  })
})
