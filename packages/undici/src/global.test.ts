import { compose, roundTripper, type RoundTripper } from '@roundtrip/core'
import { leakTracker, type Leak, type LeakTracker } from '@roundtrip/leak-tracker'
import { Transport, type TransportOptions } from '@roundtrip/transport'
import { once } from 'node:events'
import { gzipSync } from 'node:zlib'
import { request, upgrade } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { dropFetched } from '../test/drop.js'
import { acceptEchoUpgrades, collectGarbage, nextTurn, startServer, writeLarge, type TestServer, type Writer } from '../test/server.js'
import { globalDispatcher, install, uninstall } from './global.js'
import { RoundTripperDispatcher } from './to-dispatcher.js'

const LARGE = 16 * 1024 * 1024
let writer: Writer | undefined
let closed: Promise<void> | undefined
let server: TestServer | undefined
let transport: Transport | undefined
let tracker: LeakTracker | undefined

afterEach(async () => {
  uninstall()
  tracker?.dispose()
  transport?.destroy()
  await transport?.close()
  await server?.close()
  writer = undefined
  server = undefined
  transport = undefined
  tracker = undefined
})

async function serve(): Promise<TestServer> {
  server = await startServer((req, res) => {
    if (req.url === '/large') writer = writeLarge(res, LARGE)
    else if (req.url === '/held') {
      closed = new Promise((resolve) => res.on('close', resolve))
      res.write('first')
    } else if (req.url === '/hang') closed = new Promise((resolve) => res.on('close', resolve))
    else if (req.url === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(gzipSync('packed'))
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/target' })
      res.end('moved')
    } else {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => res.end(`hello ${req.method}${req.url === '/echo' || req.url === '/target' ? ` ${body} ${req.headers['content-length'] ?? '-'}` : ''}`))
    }
  })
  return server
}

/** Installs a Transport under a leak tracker as the global dispatcher; returns the leaks reported. */
function installTransport(options?: TransportOptions): Leak[] {
  const leaks: Leak[] = []
  transport = new Transport(options)
  tracker = leakTracker({ onLeak: (leak) => leaks.push(leak) })
  install(compose(transport, tracker))
  return leaks
}

describe('install()', () => {
  it('calls the trace hooks given to it for each global fetch, and refuses a bad trace before installing anything', async () => {
    await serve()
    transport = new Transport()
    const before = globalDispatcher()
    expect(() => install(transport!, { trace: 'no' as never })).toThrow(expect.objectContaining({ code: 'RT_INVALID_ARGUMENT' }))
    expect(globalDispatcher()).toBe(before)
    const log: string[] = []
    install(transport, { trace: (options) => ({ gotConn: (info: { reused: boolean }) => log.push(`${options.path} reused=${info.reused}`) }) })
    for (const path of ['/a', '/b']) expect(await (await fetch(`${server!.origin}${path}`)).text()).toBe('hello GET')
    expect(log).toEqual(['/a reused=false', '/b reused=true'])
  })

  it('sends Node’s global fetch and undici.request through the Transport, which counts them', async () => {
    const { origin } = await serve()
    // One conn, reused: no dial raced against the wait for it (raceDial).
    installTransport({ raceDial: false })
    expect(globalDispatcher()).toBeInstanceOf(RoundTripperDispatcher)
    const fetched = await fetch(`${origin}/a`)
    expect(await fetched.text()).toBe('hello GET')
    const requested = await request(`${origin}/b`, { method: 'POST', body: 'x' })
    expect(await requested.body.text()).toBe('hello POST')
    expect(transport!.stats().hosts[origin]).toMatchObject({ requests: 2, dials: 1, reusedRequests: 1 })
  })

  it('carries Node’s fetch request bodies and follows its redirects hop by hop', async () => {
    const { origin } = await serve()
    installTransport()
    const posted = await fetch(`${origin}/echo`, { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } })
    expect(await posted.text()).toBe('hello POST {"a":1} 7')
    const redirected = await fetch(`${origin}/redirect`)
    expect([redirected.redirected, redirected.url, await redirected.text()]).toEqual([true, `${origin}/target`, 'hello GET  -'])
    expect(transport!.stats().total.requests).toBe(3)
  })

  it('hands upgrades to the dispatcher it replaced', async () => {
    const { origin } = await serve()
    acceptEchoUpgrades(server!.server)
    installTransport()
    const { socket } = await upgrade(origin, { protocol: 'echo' })
    socket.write('ping')
    const [echoed] = (await once(socket, 'data')) as [Buffer]
    expect(echoed.toString()).toBe('ping')
    socket.destroy()
    expect(transport!.stats().total.requests).toBe(0)
  })

  it('lets Node’s fetch decode a compressed body once', async () => {
    const { origin } = await serve()
    installTransport()
    const response = await fetch(`${origin}/gzip`)
    expect(response.headers.get('content-encoding')).toBe('gzip')
    expect(await response.text()).toBe('packed')
  })

  it('reports a global-fetch body dropped unread through the leak tracker', async () => {
    const { origin } = await serve()
    const leaks = installTransport()
    expect(await dropFetched(`${origin}/large`)).toBe(200)
    await collectGarbage(() => leaks.length > 0)
    // The stack names the line that called Node's fetch (V8's async stack traces reach it).
    expect(leaks).toMatchObject([{ kind: 'collected', method: 'GET', url: `${origin}/large`, status: 200, stack: expect.stringContaining('drop.ts') }])
  })

  it('uninstall() restores the dispatcher that was there before', async () => {
    const { origin } = await serve()
    const before = globalDispatcher()
    installTransport()
    expect(globalDispatcher()).not.toBe(before)
    expect(uninstall()).toBe(true)
    expect(globalDispatcher()).toBe(before)
    expect(await (await fetch(`${origin}/after`)).text()).toBe('hello GET')
    expect(transport!.stats().total.requests).toBe(0)
    expect(uninstall()).toBe(false)
  })
})

describe('install() twice', () => {
  it('replaces the installed dispatcher, and uninstall() restores the one from before the first install', async () => {
    const before = globalDispatcher()
    const first = install(roundTripperOf('first'))
    const second = install(roundTripperOf('second'))
    expect(globalDispatcher()).toBe(second)
    expect(first).not.toBe(second)
    expect(await (await fetch('http://bridge.test/')).text()).toBe('second')
    uninstall()
    expect(globalDispatcher()).toBe(before)
  })
})

function roundTripperOf(text: string): RoundTripper {
  return roundTripper(async () => new Response(text))
}

/**
 * The same scenarios run over Node's own dispatcher and over the installed
 * Transport: what the caller sees must be the same.
 */
describe.each([
  ['Node’s own dispatcher', false],
  ['the installed Transport', true],
])('global fetch over %s', (_name, bridged) => {
  async function setUp(): Promise<string> {
    const { origin } = await serve()
    if (bridged) installTransport()
    return origin
  }

  it('rejects with the signal’s reason when aborted before the head, and the server sees the connection close', async () => {
    const origin = await setUp()
    const abort = new AbortController()
    const pending = fetch(`${origin}/hang`, { signal: abort.signal })
    while (closed === undefined) await nextTurn()
    const reason = new Error('gave up')
    abort.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await closed
  })

  it('fails the body read with the signal’s reason when aborted mid-body, and the server sees the connection close', async () => {
    const origin = await setUp()
    const abort = new AbortController()
    const response = await fetch(`${origin}/held`, { signal: abort.signal })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first')
    const reason = new Error('stop')
    abort.abort(reason)
    await expect(reader.read()).rejects.toBe(reason)
    await closed
  })

  it('holds a large unread body back at the server, then delivers every byte', async () => {
    const origin = await setUp()
    const response = await fetch(`${origin}/large`)
    while (writer === undefined) await nextTurn()
    await writer.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    const heldAt = writer.written
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(writer.written).toBe(heldAt)
    expect(heldAt).toBeLessThan(LARGE)
    const bytes = new Uint8Array(await response.arrayBuffer())
    expect(bytes.byteLength).toBe(LARGE)
    expect(bytes.every((b) => b === 0x61)).toBe(true)
    expect(await writer.finished).toBe(true)
  })
})
