import { bodyHold, compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker, type Leak } from '@roundtrip/leak-tracker'
import { Agent, MockAgent, ProxyAgent } from 'undici'
import { describe, expect, it } from 'vitest'
import { useClosing } from '../test/closing.js'
import { dropResponse } from '../test/drop.js'
import { startProxy, type ProxyProcess } from '../test/proxy-process.js'
import { collectGarbage, nextTurn, startServer, writeLarge, type TestServer, type Writer } from '../test/server.js'
import { fromDispatcher, responseTrailers } from './from-dispatcher.js'

const track = useClosing()

describe('fromDispatcher over a MockAgent', () => {
  it('answers createFetch from the mock interceptors', async () => {
    const mock = track(new MockAgent())
    mock.disableNetConnect()
    const api = mock.get('http://api.test')
    api.intercept({ path: '/users/1', method: 'GET', headers: { accept: 'application/json' } }).reply(200, { id: 1 }, { headers: { 'x-served-by': 'mock' } })
    api.intercept({ path: '/users', method: 'POST' }).reply(201, 'created')
    const fetch = createFetch(fromDispatcher(mock))
    const user = await fetch('http://api.test/users/1', { headers: { accept: 'application/json' } })
    expect(user.status).toBe(200)
    expect(user.headers.get('x-served-by')).toBe('mock')
    expect(await user.json()).toEqual({ id: 1 })
    const created = await fetch('http://api.test/users', { method: 'POST', body: '{"name":"a"}' })
    expect([created.status, await created.text()]).toEqual([201, 'created'])
  })

  it('rejects a request no interceptor matches with the MockAgent’s own error as the cause', async () => {
    const mock = track(new MockAgent())
    mock.disableNetConnect()
    const fetch = createFetch(fromDispatcher(mock))
    await expect(fetch('http://api.test/nothing')).rejects.toMatchObject({
      name: 'TypeError',
      cause: { code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' },
    })
  })
})

describe('fromDispatcher through a real proxy', () => {
  async function echo(seen: Array<string | undefined>): Promise<TestServer> {
    return track(await startServer((req, res) => {
      seen.push(req.headers.via)
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`))
    }))
  }

  it('tunnels requests through a ProxyAgent and a proxy process to the origin', async () => {
    const server = await echo([])
    const proxy: ProxyProcess = track(await startProxy())
    const rt = track(fromDispatcher(new ProxyAgent(proxy.url)))
    const get = await rt.roundTrip(new Request(`${server.origin}/a?b=1`))
    expect(await get.text()).toBe('GET /a?b=1 ')
    const post = await rt.roundTrip(new Request(`${server.origin}/p`, { method: 'POST', body: 'hello' }))
    expect(await post.text()).toBe('POST /p hello')
    // One tunnel per connection the agent opened, each to the origin.
    expect(proxy.log.length).toBeGreaterThan(0)
    expect(new Set(proxy.log)).toEqual(new Set([`CONNECT ${server.origin.slice('http://'.length)}`]))
  })

  it('forwards plain-HTTP requests through a ProxyAgent without a tunnel', async () => {
    const seen: Array<string | undefined> = []
    const server = await echo(seen)
    const proxy: ProxyProcess = track(await startProxy())
    const rt = track(fromDispatcher(new ProxyAgent({ uri: proxy.url, proxyTunnel: false })))
    expect(await (await rt.roundTrip(new Request(`${server.origin}/a`))).text()).toBe('GET /a ')
    expect(proxy.log).toEqual([`GET ${server.origin}/a`])
    // The proxy adds its Via header on the way to the origin.
    expect(seen).toEqual([expect.stringContaining('(proxy/')])
  })
})

describe('fromDispatcher over an Agent', () => {
  let server: TestServer
  let writer: Writer | undefined
  async function serve(): Promise<TestServer> {
    server = track(await startServer((req, res) => {
      if (req.url === '/large') writer = writeLarge(res, 16 * 1024 * 1024)
      else if (req.url === '/hang') res.flushHeaders()
      else if (req.url === '/held') res.write('first')
      else if (req.url === '/trailers') {
        res.writeHead(200, { trailer: 'x-checksum' })
        res.write('data')
        res.addTrailers({ 'x-checksum': 'abc123' })
        res.end()
      } else res.end('ok')
    }))
    return server
  }

  it('streams a large body with back-pressure: the server is held while the body is unread', async () => {
    await serve()
    const rt = track(fromDispatcher(new Agent()))
    const response = await rt.roundTrip(new Request(`${server.origin}/large`))
    await writer!.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    const heldAt = writer!.written
    expect(heldAt).toBeLessThan(16 * 1024 * 1024)
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(writer!.written).toBe(heldAt)
    const bytes = new Uint8Array(await response.arrayBuffer())
    expect(bytes.byteLength).toBe(16 * 1024 * 1024)
    expect(bytes.every((b) => b === 0x61)).toBe(true)
    expect(await writer!.finished).toBe(true)
  })

  it('rejects with the signal’s reason when aborted before the head, and closes the connection', async () => {
    await serve()
    const rt = track(fromDispatcher(new Agent()))
    const abort = new AbortController()
    const reason = new Error('gave up')
    const pending = rt.roundTrip(new Request(`${server.origin}/held-head`, { signal: abort.signal }))
    abort.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await expect(rt.roundTrip(new Request(`${server.origin}/`, { signal: AbortSignal.abort(reason) }))).rejects.toBe(reason)
  })

  it('fails the body with the signal’s reason when aborted while the body streams', async () => {
    await serve()
    const rt = track(fromDispatcher(new Agent()))
    const abort = new AbortController()
    const response = await rt.roundTrip(new Request(`${server.origin}/held`, { signal: abort.signal }))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first')
    const reason = new Error('stop')
    abort.abort(reason)
    await expect(reader.read()).rejects.toBe(reason)
  })

  it('keeps the trailers for responseTrailers()', async () => {
    await serve()
    const rt = track(fromDispatcher(new Agent()))
    const response = await rt.roundTrip(new Request(`${server.origin}/trailers`))
    expect(await response.text()).toBe('data')
    expect(responseTrailers(response)?.get('x-checksum')).toBe('abc123')
  })

  it('is observed by the leak tracker, which reports a dropped body', async () => {
    await serve()
    const leaks: Leak[] = []
    const tracker = leakTracker({ onLeak: (leak) => leaks.push(leak) })
    const rt = track(fromDispatcher(new Agent()))
    await dropResponse(compose(rt, tracker), `${server.origin}/held`)
    await collectGarbage(() => leaks.length > 0)
    tracker.dispose()
    expect(leaks).toMatchObject([{ kind: 'collected', url: `${server.origin}/held`, status: 200, stack: expect.stringContaining('drop.ts') }])
  })

  it('declares on the body the origin whose connection it holds: an unread streaming body pins it, a complete one let it go', async () => {
    await serve()
    const rt = track(fromDispatcher(new Agent()))
    const held = await rt.roundTrip(new Request(`${server.origin}/held`))
    expect(bodyHold(held)).toEqual({ pool: server.origin, released: false })
    const small = await rt.roundTrip(new Request(`${server.origin}/`))
    expect(await small.text()).toBe('ok')
    expect(bodyHold(small)).toEqual({ pool: server.origin, released: true })
    await held.body!.cancel()
    expect(bodyHold(held)?.pool).toBe(server.origin)
  })

  it('forwards close() to the dispatcher', async () => {
    await serve()
    const agent = new Agent()
    const rt = fromDispatcher(agent)
    expect(await (await rt.roundTrip(new Request(server.origin))).text()).toBe('ok')
    await rt.close()
    expect(agent.closed).toBe(true)
    await expect(rt.roundTrip(new Request(server.origin))).rejects.toMatchObject({ code: expect.stringMatching(/^UND_ERR_(CLOSED|DESTROYED)$/) })
  })
})

describe('fromDispatcher: bad input', () => {
  it('refuses something that is not a dispatcher with RT_INVALID_ARGUMENT', () => {
    expect(() => fromDispatcher({} as never)).toThrow(expect.objectContaining({ code: 'RT_INVALID_ARGUMENT' }))
  })
})
