import { constants } from 'node:http2'
import { Readable } from 'node:stream'
import { undiciDispatch } from '@roundtrip/core'
import { request as undiciRequest } from 'undici'
import { beforeAll, describe, expect, it } from 'vitest'
import { Direct } from '../test/dispatch.js'
import { useFixture } from '../test/fixture.js'
import { startH2Server, type H2TestServer } from '../test/h2.js'
import { certificate } from '../test/tls.js'
import { deferred, rethrown } from '../test/util.js'
import { Transport } from './transport.js'

// What the undici direct path tells the caller's handler over HTTP/2 is
// what it tells over HTTP/1.1 (undici's Client): each request body chunk
// written (`onBodySent`), then the trailers in `onComplete`. One TLS server
// speaks both (ALPN); the Transport chooses with `protocols`.

const f = useFixture()

/** A legacy handler recording what it is told; resolves `done` with the record at the end. */
function recorder(): { calls: string[]; done: Promise<string[]>; handler: object } {
  const calls: string[] = []
  const end = deferred<string[]>()
  const handler = {
    onConnect: () => {},
    onHeaders: (status: number, raw: Buffer[]) => {
      const at = raw.findIndex((b) => b.toString('latin1').toLowerCase() === 'x-alpn')
      calls.push(at < 0 ? `headers ${status}` : `headers ${status} ${raw[at + 1]!.toString('latin1')}`)
      return true
    },
    onData: (chunk: Buffer) => (calls.push(`data ${chunk.toString()}`), true),
    onBodySent: (chunk: Uint8Array) => calls.push(`body sent ${Buffer.from(chunk).toString()}`),
    onRequestSent: () => calls.push('request sent'),
    onComplete: (trailers: Buffer[]) => {
      calls.push(`complete [${trailers.map((t) => (Buffer.isBuffer(t) ? t.toString('latin1') : `not a Buffer: ${String(t)}`)).join(', ')}]`)
      end.resolve(calls)
    },
    onError: (error: Error & { code?: string }) => {
      calls.push(`error ${error.code ?? error.message}`)
      end.resolve(calls)
    },
  }
  return { calls, done: end.promise, handler }
}

describe.each([
  ['HTTP/2', 'h2', ['http2', 'http1']],
  ['HTTP/1.1', 'http/1.1', ['http1']],
] as const)('Transport[undiciDispatch] over %s: body chunks and trailers reach the caller’s handler', (_name, alpn, protocols) => {
  let pem: { key: string; cert: string }
  let server: H2TestServer
  let transport: Transport
  const resets: number[] = []
  /** The x-bad header of each request that reached `/refused`. */
  const seen: string[] = []
  beforeAll(async () => {
    pem = await certificate()
  })

  async function start(): Promise<void> {
    resets.length = 0
    seen.length = 0
    server = f.serve(await startH2Server((req, res) => {
      // The HTTP/2 stream's end as the server saw it: its RST_STREAM code (0 when it ended normally).
      if (req.url === '/watched' && req.stream !== undefined) req.stream.once('close', () => resets.push(req.stream.rstCode ?? 0))
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        res.setHeader('x-alpn', req.httpVersion === '2.0' ? 'h2' : 'http/1.1')
        if (req.url === '/fields') res.setHeader('x-fields', JSON.stringify(req.rawHeaders.filter((_, i, raw) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'content-type')))
        if (req.url === '/refused') seen.push(JSON.stringify(req.headers['x-bad'] ?? null))
        if (req.url === '/trailers') {
          res.write('with ')
          res.addTrailers({ 'x-checksum': 'abc', 'x-count': '2' })
        }
        res.end(`${req.method} ${body}`)
      })
    }, { pem, allowHTTP1: true }))
    transport = f.use(new Transport({ tls: { ca: pem.cert }, protocols: [...protocols], raceDial: false }))
  }

  it('tells onBodySent of a Buffer body, then onRequestSent', async () => {
    await start()
    const state = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'POST', body: Buffer.from('hello') }, state.handler)
    const calls = await state.done
    expect(calls.slice(0, 2)).toEqual(['body sent hello', 'request sent'])
    expect(calls.slice(2)).toEqual([`headers 200 ${alpn}`, 'data POST hello', 'complete []'])
  })

  it('tells onBodySent of each chunk of a streamed body, in order, before onRequestSent', async () => {
    await start()
    const state = recorder()
    const body = Readable.from([Buffer.from('one '), Buffer.from('two '), Buffer.from('three')])
    transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'POST', body }, state.handler)
    const calls = await state.done
    expect(calls.filter((c) => c.startsWith('body sent') || c === 'request sent')).toEqual(['body sent one ', 'body sent two ', 'body sent three', 'request sent'])
    expect(calls.filter((c) => c.startsWith('headers'))).toEqual([`headers 200 ${alpn}`])
    expect(calls.at(-1)).toBe('complete []')
  })

  it.each([
    ['onBodySent', 'a Buffer body', (): Buffer | Readable | null => Buffer.from('hello')],
    ['onBodySent', 'a streamed body', (): Buffer | Readable | null => Readable.from([Buffer.from('one '), Buffer.from('two')])],
    ['onRequestSent', 'no body', (): Buffer | Readable | null => null],
    ['onResponseStarted', 'no body', (): Buffer | Readable | null => null],
  ] as const)('fails with what the caller’s %s throws (%s): one onError, nothing after, the stream reset (HTTP/2) or the conn closed', async (hook, _what, makeBody) => {
    await start()
    const state = recorder()
    const boom = new Error(`boom in ${hook}`)
    const handler = state.handler as Record<string, unknown>
    handler[hook] = () => {
      state.calls.push(hook)
      throw boom
    }
    let told: unknown
    const onError = handler['onError'] as (error: Error) => void
    handler['onError'] = (error: Error) => ((told = error), onError(error))
    const thrown = await rethrown(async () => {
      const body = makeBody()
      transport[undiciDispatch]({ origin: server.origin, path: '/watched', method: body === null ? 'GET' : 'POST', body }, handler)
      await state.done
    })
    expect(told).toBe(boom)
    // A request after it on the same conn: whatever the server sent for the first one has come by its end.
    const after = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, after.handler)
    expect(await after.done).toEqual(['request sent', `headers 200 ${alpn}`, 'data GET ', 'complete []'])
    expect(state.calls).toEqual([...(hook === 'onResponseStarted' ? ['request sent'] : []), hook, `error ${boom.message}`])
    // HTTP/2: reset, unless the server had ended the exchange already (its whole response sent before the client saw its head). HTTP/1.1: the conn is closed (stats).
    if (alpn === 'h2') expect(resets).toEqual([hook === 'onResponseStarted' ? 0 : constants.NGHTTP2_CANCEL])
    else expect(transport.stats().total.dials).toBe(2)
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0 })
    // Not thrown again, as undici's Request does not (dispatch.test.ts): onError heard it.
    expect(thrown).toEqual([])
  })

  it.each([
    ['in one case', 'content-type'],
    ['in two cases (HTTP/2 names are lower case)', 'Content-Type'],
  ])('sends a header that takes one value, given twice %s, as undici does (HTTP/2: the values joined with a comma)', async (_case, first) => {
    await start()
    const state = recorder()
    const handler = state.handler as Record<string, unknown>
    let fields = ''
    handler['onHeaders'] = (status: number, raw: Buffer[]) => {
      const at = raw.findIndex((b) => b.toString('latin1') === 'x-fields')
      fields = at < 0 ? '' : raw[at + 1]!.toString('latin1')
      state.calls.push(`headers ${status}`)
      return true
    }
    const headers = [first, 'text/a', 'content-type', 'text/b']
    transport[undiciDispatch]({ origin: server.origin, path: '/fields', method: 'POST', headers, body: 'x' }, handler)
    expect((await state.done).filter((c) => c.startsWith('headers') || c.startsWith('error'))).toEqual(['headers 200'])
    expect(fields).toBe(JSON.stringify(alpn === 'h2' ? ['text/a, text/b'] : ['text/a', 'text/b']))
  })

  it.each([
    ['a CR LF', 'a\r\nb'],
    ['a NUL', 'a\0b'],
    ['a character above U+00FF', 'a\u0100'],
  ])('refuses a header value with %s before anything is sent, as undici does (RT_INVALID_REQUEST)', async (_what, value) => {
    await start()
    const state = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/refused', method: 'GET', headers: { 'x-bad': value } }, state.handler)
    expect(await state.done).toEqual(['error RT_INVALID_REQUEST'])
    // The conn still serves, and the server saw nothing of the refused request.
    const after = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, after.handler)
    expect(await after.done).toEqual(['request sent', `headers 200 ${alpn}`, 'data GET ', 'complete []'])
    expect(seen).toEqual([])
  })

  it(`hands the response trailers to onComplete as latin1 Buffer pairs, and undici.request shows them (ALPN ${alpn})`, async () => {
    await start()
    const state = recorder()
    transport[undiciDispatch]({ origin: server.origin, path: '/trailers', method: 'GET' }, state.handler)
    const calls = await state.done
    expect(calls.at(-1)).toBe('complete [x-checksum, abc, x-count, 2]')

    const response = await undiciRequest(`${server.origin}/trailers`, { dispatcher: new Direct(transport) })
    expect(response.headers['x-alpn']).toBe(alpn)
    expect(await response.body.text()).toBe('with GET ')
    expect(response.trailers).toEqual({ 'x-checksum': 'abc', 'x-count': '2' })
    expect(transport.stats().total).toMatchObject({ dials: 1, active: 0 })
  })
})
