import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rejection } from '../test/util.js'
import { record } from './record.js'

let dir: string
let server: Server | undefined
let origin: string
let hits: string[]
const transports: Transport[] = []

async function read(req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const chunk of req) s += chunk
  return s
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roundtrip-record-'))
  hits = []
  server = createServer(async (req, res) => {
    res.sendDate = false
    hits.push(`${req.method} ${req.url}`)
    const body = await read(req)
    switch (req.url) {
      case '/json':
        res.setHeader('set-cookie', ['session=secret; HttpOnly', 'theme=dark'])
        res.setHeader('content-type', 'application/json')
        return res.end(JSON.stringify({ hello: 'world', n: 1 }))
      case '/binary':
        res.setHeader('content-type', 'application/octet-stream')
        return res.end(Buffer.from([0, 159, 146, 150, 255]))
      case '/gzip':
        res.setHeader('content-encoding', 'gzip')
        return res.end(gzipSync('decoded by the transport'))
      case '/echo':
        res.setHeader('x-got', req.headers['x-api-key'] ?? '')
        return res.end(`echo:${body}`)
      case '/empty':
        res.statusCode = 204
        return res.end()
      default:
        res.statusCode = 404
        return res.end('not here')
    }
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterEach(async () => {
  for (const t of transports.splice(0)) await t.close()
  if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
})

function client(options: Parameters<typeof record>[0]): typeof fetch {
  const transport = new Transport()
  transports.push(transport)
  return createFetch(compose(transport, record(options)))
}

interface Seen {
  status: number
  statusText: string
  url: string
  headers: Array<[string, string]>
  body: number[] | null
}

async function exercise(fetch: typeof globalThis.fetch): Promise<Seen[]> {
  const calls: Array<[string, RequestInit?]> = [
    [`${origin}/json`],
    [`${origin}/binary`],
    [`${origin}/gzip`],
    [`${origin}/echo`, { method: 'POST', body: 'one', headers: { 'x-api-key': 'k-123', 'content-type': 'text/plain' } }],
    [`${origin}/echo`, { method: 'POST', body: 'two', headers: { 'content-type': 'text/plain' } }],
    [`${origin}/empty`],
    [`${origin}/json`, { method: 'HEAD' }],
    [`${origin}/nowhere`],
  ]
  // Concurrently, so that the order in which exchanges complete varies.
  return Promise.all(
    calls.map(async ([url, init]) => {
      const r = await fetch(url, init)
      const body = r.body === null ? null : [...new Uint8Array(await r.arrayBuffer())]
      return { status: r.status, statusText: r.statusText, url: r.url, headers: [...r.headers], body }
    }),
  )
}

describe('record()', () => {
  it('records against a real server, then replays with the server stopped: same status, headers and bodies', async () => {
    const file = join(dir, 'recording.json')
    const live = await exercise(client({ file, mode: 'record' }))
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    hits = []

    const replayed = await exercise(client({ file, mode: 'replay' }))
    const cookieRedacted = (seen: Seen[]): Seen[] =>
      seen.map((s) => ({ ...s, headers: s.headers.map(([k, v]): [string, string] => [k, k === 'set-cookie' ? '[REDACTED]' : v]) }))
    expect(replayed).toEqual(cookieRedacted(live))
    expect(live[0]!.headers.filter(([k]) => k === 'set-cookie')).toEqual([
      ['set-cookie', 'session=secret; HttpOnly'],
      ['set-cookie', 'theme=dark'],
    ])
    expect(new TextDecoder().decode(new Uint8Array(live[2]!.body!))).toBe('decoded by the transport')
    expect(live.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 204, 200, 404])
    expect(hits).toEqual([])
  })

  it('writes a stable file: sorted keys and exchanges, no timestamps, secrets redacted, text as text and bytes as base64', async () => {
    const first = join(dir, 'first.json')
    const second = join(dir, 'second.json')
    await exercise(client({ file: first, mode: 'record', requestHeaders: ['content-type', 'x-api-key'], redact: ['x-api-key', 'X-Got'] }))
    await exercise(client({ file: second, mode: 'record', requestHeaders: ['content-type', 'x-api-key'], redact: ['x-api-key', 'X-Got'] }))
    const text = readFileSync(first, 'utf8')
    expect(readFileSync(second, 'utf8')).toBe(text)
    expect(text).not.toContain('secret')
    expect(text).not.toContain('k-123')
    const parsed = JSON.parse(text) as { version: number; exchanges: Array<{ request: Record<string, unknown>; response: Record<string, unknown> }> }
    expect(Object.keys(parsed)).toEqual(['exchanges', 'version'])
    expect(parsed.exchanges.map((e) => `${String(e.request.method)} ${String(e.request.url).replace(origin, '')}`)).toEqual([
      'GET /binary',
      'GET /empty',
      'GET /gzip',
      'GET /json',
      'GET /nowhere',
      'HEAD /json',
      'POST /echo',
      'POST /echo',
    ])
    const echo = parsed.exchanges.find((e) => e.request.body === 'one')!
    expect(echo.request).toEqual({ method: 'POST', url: `${origin}/echo`, headers: { 'content-type': 'text/plain', 'x-api-key': '[REDACTED]' }, body: 'one' })
    expect(Object.keys(echo.response)).toEqual(['body', 'headers', 'status', 'statusText'])
    const binary = parsed.exchanges[0]!.response
    expect([binary.body, binary.bodyEncoding]).toEqual([Buffer.from([0, 159, 146, 150, 255]).toString('base64'), 'base64'])
  })

  it("'replay' rejects a request it has no recording for, naming the file and what it holds", async () => {
    const file = join(dir, 'r.json')
    await (await client({ file, mode: 'record' })(`${origin}/json`)).text()
    const error = await rejection(client({ file, mode: 'replay' })(`${origin}/other?x=1`))
    const cause = error.cause as Error & { code?: string }
    expect(cause.code).toBe('RT_RECORDING_MISSING')
    expect(cause.message).toBe(
      `no recording of GET ${origin}/other?x=1 (with these headers and body) in ${file}; it holds: GET ${origin}/json. Record it with mode 'record' or 'auto'.`,
    )
  })

  it("'replay' matches the body: the same URL with another body has no recording", async () => {
    const file = join(dir, 'r.json')
    await (await client({ file, mode: 'record' })(`${origin}/echo`, { method: 'POST', body: 'a' })).text()
    const replay = client({ file, mode: 'replay' })
    expect(await (await replay(`${origin}/echo`, { method: 'POST', body: 'a' })).text()).toBe('echo:a')
    expect(((await rejection(replay(`${origin}/echo`, { method: 'POST', body: 'b' }))).cause as { code?: string }).code).toBe('RT_RECORDING_MISSING')
  })

  it('answers repeats of one request in recorded order, then repeats the last in replay', async () => {
    const file = join(dir, 'r.json')
    let n = 0
    server!.removeAllListeners('request')
    server!.on('request', (_req, res) => res.end(`call ${++n}`))
    const live = client({ file, mode: 'record' })
    for (let i = 0; i < 2; i++) await (await live(`${origin}/counter`)).text()
    const replay = client({ file, mode: 'replay' })
    const texts: string[] = []
    for (let i = 0; i < 3; i++) texts.push(await (await replay(`${origin}/counter`)).text())
    expect(texts).toEqual(['call 1', 'call 2', 'call 2'])
  })

  it("'auto' replays what the file has and records the rest", async () => {
    const file = join(dir, 'auto.json')
    await (await client({ file, mode: 'record' })(`${origin}/json`)).text()
    hits = []
    const auto = client({ file, mode: 'auto' })
    expect(await (await auto(`${origin}/json`)).json()).toEqual({ hello: 'world', n: 1 })
    expect(await (await auto(`${origin}/binary`)).arrayBuffer()).toBeInstanceOf(ArrayBuffer)
    expect(hits).toEqual(['GET /binary'])
    const urls = (JSON.parse(readFileSync(file, 'utf8')) as { exchanges: Array<{ request: { url: string } }> }).exchanges.map((e) => e.request.url)
    expect(urls).toEqual([`${origin}/binary`, `${origin}/json`])
  })

  it('rejects bad options with RT_MOCK_INVALID and a file that is not a recording with RT_RECORDING_INVALID', () => {
    expect(() => record({ file: join(dir, 'x.json'), mode: 'bogus' as never })).toThrow(expect.objectContaining({ code: 'RT_MOCK_INVALID' }))
    expect(() => record({} as never)).toThrow('record: a file is required ({ file, mode })')
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{"exchanges": 3}')
    expect(() => record({ file: bad, mode: 'replay' })).toThrow(expect.objectContaining({ code: 'RT_RECORDING_INVALID' }))
    writeFileSync(bad, 'not json')
    expect(() => record({ file: bad, mode: 'auto' })).toThrow(/is not JSON/)
  })
})
