import { createServer, type Server } from 'node:http'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import { http, HttpResponse, passthrough, type RequestHandler } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejection } from '../test/util.js'
import { fromMsw } from './msw.js'

let real: Server
let realOrigin: string

beforeAll(async () => {
  real = createServer((req, res) => {
    res.sendDate = false
    res.end(`real server: ${req.method} ${req.url}`)
  })
  await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve))
  realOrigin = `http://127.0.0.1:${(real.address() as { port: number }).port}`
})
afterAll(() => new Promise<void>((resolve) => real.close(() => resolve())))

/** A handler set like a team's: fresh per run, since `once` handlers are used up. */
function handlers(): RequestHandler[] {
  return [
    http.get('https://api.example.com/users/:id', ({ params, request }) =>
      HttpResponse.json({ id: params.id, q: new URL(request.url).searchParams.get('q') }, { headers: { 'x-handler': 'user' } }),
    ),
    http.post('https://api.example.com/echo', async ({ request }) =>
      HttpResponse.text(`echo ${await request.text()} (${request.headers.get('content-type')})`, { status: 201, statusText: 'Made' }),
    ),
    http.get('https://api.example.com/bytes', () => HttpResponse.arrayBuffer(new Uint8Array([1, 2, 250]).buffer)),
    http.get('https://api.example.com/gone', () => new HttpResponse(null, { status: 404 })),
    http.get('https://api.example.com/once', () => HttpResponse.text('first time'), { once: true }),
    http.get('https://api.example.com/once', () => HttpResponse.text('every other time')),
    http.get('https://api.example.com/broken', () => HttpResponse.error()),
    http.get('https://api.example.com/old-user', () => new HttpResponse(null, { status: 302, headers: { location: '/users/9' } })),
    http.get(`${realOrigin}/through`, () => passthrough()),
  ]
}

interface Outcome {
  status?: number
  statusText?: string
  headers?: Array<[string, string]>
  body?: string
  url?: string
  redirected?: boolean
  error?: string
}

async function run(fetch: typeof globalThis.fetch): Promise<Outcome[]> {
  const calls: Array<[string, RequestInit?]> = [
    ['https://api.example.com/users/7?q=x'],
    ['https://api.example.com/echo', { method: 'POST', body: 'hi', headers: { 'content-type': 'text/plain' } }],
    ['https://api.example.com/bytes'],
    ['https://api.example.com/gone'],
    ['https://api.example.com/once'],
    ['https://api.example.com/once'],
    ['https://api.example.com/broken'],
    [`${realOrigin}/through`],
    ['https://api.example.com/old-user'],
    ['https://api.example.com/old-user', { redirect: 'manual' }],
  ]
  const out: Outcome[] = []
  for (const [url, init] of calls) {
    try {
      const r = await fetch(url, init)
      const body = Buffer.from(await r.arrayBuffer()).toString('base64')
      out.push({ status: r.status, statusText: r.statusText, headers: [...r.headers], body, url: r.url, redirected: r.redirected })
    } catch (error) {
      // Only the class: msw's patched fetch says "Failed to fetch" (the browser's words), Node's fetch and createFetch "fetch failed".
      out.push({ error: (error as Error).name })
    }
  }
  return out
}

describe('fromMsw', () => {
  it('answers exactly as msw answers Node’s fetch under setupServer', async () => {
    const server = setupServer(...handlers())
    server.listen({ onUnhandledRequest: 'error' })
    let viaMsw: Outcome[]
    try {
      viaMsw = await run(globalThis.fetch)
    } finally {
      server.close()
    }
    const transport = new Transport()
    try {
      const viaRoundtrip = await run(createFetch(compose(fromMsw(handlers(), { passthrough: transport }), leakTracker())))
      expect(viaRoundtrip).toEqual(viaMsw)
      // The comparison covers what matters: spell out a few, so an empty run cannot pass.
      expect(viaRoundtrip.map((o) => o.status ?? o.error)).toEqual([200, 201, 200, 404, 200, 200, 'TypeError', 200, 200, 302])
      expect([viaRoundtrip[8]!.url, viaRoundtrip[8]!.redirected]).toEqual(['https://api.example.com/users/9', true])
      expect(Buffer.from(viaRoundtrip[7]!.body!, 'base64').toString()).toBe('real server: GET /through')
    } finally {
      await transport.close()
    }
  })

  it('rejects with RT_MOCK_NETWORK_ERROR for HttpResponse.error() and RT_MOCK_NO_MATCH when no handler answers', async () => {
    const rt = fromMsw(handlers())
    expect((await rejection(rt.roundTrip(new Request('https://api.example.com/broken')))).code).toBe('RT_MOCK_NETWORK_ERROR')
    const error = await rejection(rt.roundTrip(new Request('https://api.example.com/nothing')))
    expect(error.code).toBe('RT_MOCK_NO_MATCH')
    expect(error.message).toContain('no msw handler answered for GET https://api.example.com/nothing and there is no passthrough; the handlers:\n  - GET https://api.example.com/users/:id\n')
    const through = await rejection(rt.roundTrip(new Request(`${realOrigin}/through`)))
    expect(through.message).toMatch(/^the msw handler called passthrough\(\) for GET http:\/\/127\.0\.0\.1:\d+\/through and there is no passthrough/)
  })

  it('leaves the request unread and rejects with the signal reason on abort', async () => {
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const rt = fromMsw([
      http.post('https://api.example.com/slow', async ({ request }) => {
        await held
        return HttpResponse.text(await request.text())
      }),
    ])
    const controller = new AbortController()
    const request = new Request('https://api.example.com/slow', { method: 'POST', body: 'kept', signal: controller.signal })
    const pending = rt.roundTrip(request)
    controller.abort(new Error('enough'))
    expect((await rejection(pending)).message).toBe('enough')
    release()
    expect(request.bodyUsed).toBe(false)
    expect(await request.text()).toBe('kept')
    const ok = await rt.roundTrip(new Request('https://api.example.com/slow', { method: 'POST', body: 'again' }))
    expect(await ok.text()).toBe('again')
  })
})
