import { Readable } from 'node:stream'
import { gzipSync, deflateSync, deflateRawSync, brotliCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { readBody, startServer, type TestServer } from '../test/server.js'
import { whenBodySettles, withContext, type BodySettled } from '@roundtrip/core'
import { Transport } from './transport.js'

const f = useFixture()

describe('Transport: public surface', () => {
  it('has only its documented methods: the pool’s callbacks (release, discard, deliverTo) are private', () => {
    expect(Object.getOwnPropertyNames(Transport.prototype).sort()).toEqual(['close', 'closeIdleConnections', 'constructor', 'destroy', 'roundTrip', 'stats'])
    const transport = new Transport()
    expect(Object.keys(transport)).toEqual([])
    // @ts-expect-error — not part of the type either (nor of the emitted .d.ts)
    expect(transport.release).toBeUndefined()
  })
})

describe('Transport: connection reuse', () => {
  it('serves 200 sequential requests to one origin on 2 connections (the second raced a dial: raceDial)', async () => {
    const server = f.serve(await startServer((req, res) => res.end(`hello ${req.url}`)))
    const transport = f.use(new Transport())
    for (let i = 0; i < 200; i++) {
      const response = await transport.roundTrip(new Request(`${server.origin}/${i}`))
      expect(await response.text()).toBe(`hello /${i}`)
    }
    expect(server.connections).toBe(2)
    const stats = transport.stats().total
    // The first request on each conn is its only fresh one.
    expect(stats).toMatchObject({ dials: 2, requests: 200, reusedRequests: 198, active: 0, idle: 2, waiting: 0, dialing: 0 })
  })

  it('uses 200 connections for 200 requests with disableKeepAlives', async () => {
    const server = f.serve(await startServer((req, res) => res.end('x')))
    const transport = f.use(new Transport({ disableKeepAlives: true }))
    for (let i = 0; i < 200; i++) {
      const response = await transport.roundTrip(new Request(server.origin))
      expect(await response.text()).toBe('x')
    }
    expect(server.connections).toBe(200)
    await server.closedCount(200)
    expect(transport.stats().total).toMatchObject({ dials: 200, idle: 0, active: 0 })
  })

  it('with maxConnsPerHost 4 serves 50 concurrent requests on at most 4 sockets, in FIFO order of waiting', async () => {
    let maxOpen = 0
    const served: number[] = []
    const server = f.serve(await startServer((req, res) => {
      maxOpen = Math.max(maxOpen, server.open.size)
      setImmediate(() => res.end(req.url))
    }))
    const transport = f.use(new Transport({ maxConnsPerHost: 4 }))
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const trace = { gotConn: () => void served.push(i) }
        const response = await transport.roundTrip(withContext(new Request(`${server.origin}/${i}`), { trace }))
        return response.text()
      }),
    )
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => `/${i}`))
    expect(maxOpen).toBeLessThanOrEqual(4)
    expect(server.connections).toBe(4)
    // Requests got their connections in the order they started waiting.
    expect(served).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0, dials: 4 })
  })

  it('keeps separate pools per origin', async () => {
    const server = f.serve(await startServer((req, res) => res.end('a')))
    const other = f.serve(await startServer((req, res) => res.end('b')))
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('a')
    expect(await (await transport.roundTrip(new Request(other.origin))).text()).toBe('b')
    const hosts = transport.stats().hosts
    expect(Object.keys(hosts).sort()).toEqual([`http://127.0.0.1:${server.port}`, `http://127.0.0.1:${other.port}`].sort())
  })
})

describe('Transport: responses', () => {
  it('returns a real Response with status, headers, several set-cookie values and the request URL', async () => {
    const server = f.serve(await startServer((req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.setHeader('x-test', 'yes')
      res.writeHead(201, 'Made It')
      res.end('created')
    }))
    const transport = f.use(new Transport())
    const url = `${server.origin}/thing?q=1`
    const response = await transport.roundTrip(new Request(`${url}#fragment`))
    expect(response).toBeInstanceOf(Response)
    expect(response.status).toBe(201)
    expect(response.statusText).toBe('Made It')
    expect(response.url).toBe(url)
    expect(response.redirected).toBe(false)
    expect(response.headers.get('x-test')).toBe('yes')
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await response.text()).toBe('created')
  })

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('gives %s with status %i a null body and reuses the connection', async (method, status) => {
    const server = f.serve(await startServer((req, res) => {
      // (undici closes a conn whose 204/304 carries a content-length: not tested here.)
      res.writeHead(status, status === 200 ? { 'content-length': '5' } : {})
      res.end(req.method === 'HEAD' || status !== 200 ? undefined : 'hello')
    }))
    const transport = f.use(new Transport({ raceDial: false }))
    for (let i = 0; i < 2; i++) {
      const response = await transport.roundTrip(new Request(server.origin, { method }))
      expect(response.status).toBe(status)
      expect(response.body).toBeNull()
    }
    expect(server.connections).toBe(1)
  })

  it('does not follow redirects and turns no status into an error', async () => {
    const server = f.serve(await startServer((req, res) => {
      if (req.url === '/r') res.writeHead(302, { location: '/target' }).end()
      else res.writeHead(500).end('broken')
    }))
    const transport = f.use(new Transport())
    const redirect = await transport.roundTrip(new Request(`${server.origin}/r`))
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe('/target')
    await redirect.body?.cancel()
    const failed = await transport.roundTrip(new Request(`${server.origin}/x`))
    expect(failed.status).toBe(500)
    expect(await failed.text()).toBe('broken')
  })

  it('streams a large body with back-pressure and delivers every byte', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7)
    const server = f.serve(await startServer((req, res) => res.end(big)))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    let size = 0
    for await (const chunk of response.body!) size += chunk.byteLength
    expect(size).toBe(big.length)
  })
})

describe('Transport: compression', () => {
  const text = 'compressed '.repeat(1000)
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: gzipSync,
    deflate: deflateSync,
    br: brotliCompressSync,
  }

  it.each(Object.keys(encoders))('asks for compression and decodes a %s body, keeping the header', async (coding) => {
    let asked: string | undefined
    const server = f.serve(await startServer((req, res) => {
      asked = req.headers['accept-encoding']
      res.writeHead(200, { 'content-encoding': coding })
      res.end(encoders[coding]!(Buffer.from(text)))
    }))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    expect(asked).toBe('gzip, deflate, br')
    expect(response.headers.get('content-encoding')).toBe(coding)
    expect(await response.text()).toBe(text)
  })

  it('tells the body size on the wire and decoded when a decoded body ends (resource timing reads them)', async () => {
    const packed = gzipSync(Buffer.from(text))
    const server = f.serve(await startServer((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(packed)
    }))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const told: BodySettled[] = []
    whenBodySettles(response, (settled) => told.push(settled))
    await response.text()
    expect(told).toEqual([{ outcome: 'end', encodedBytes: packed.length, decodedBytes: text.length }])
  })

  it('decodes raw deflate as browsers do', async () => {
    const server = f.serve(await startServer((req, res) => {
      res.writeHead(200, { 'content-encoding': 'deflate' })
      res.end(deflateRawSync(Buffer.from(text)))
    }))
    const transport = f.use(new Transport())
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe(text)
  })

  it('does not ask for compression for a request with a range, as Go’s Transport (a range of a compressed body cannot be decoded), and keeps the request’s own', async () => {
    const asked: Array<string | undefined> = []
    const server = f.serve(await startServer((req, res) => {
      asked.push(req.headers['accept-encoding'])
      res.end('ok')
    }))
    const transport = f.use(new Transport())
    await (await transport.roundTrip(new Request(server.origin, { headers: { range: 'bytes=0-1' } }))).text()
    await (await transport.roundTrip(new Request(server.origin, { headers: { range: 'bytes=0-1', 'accept-encoding': 'gzip' } }))).text()
    expect(asked).toEqual([undefined, 'gzip'])
  })

  it('neither asks nor decodes with disableCompression', async () => {
    let asked: string | undefined
    const packed = gzipSync(Buffer.from(text))
    const server = f.serve(await startServer((req, res) => {
      asked = req.headers['accept-encoding']
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(packed)
    }))
    const transport = f.use(new Transport({ disableCompression: true }))
    const response = await transport.roundTrip(new Request(server.origin))
    expect(asked).toBeUndefined()
    expect(Buffer.from(await response.arrayBuffer()).equals(packed)).toBe(true)
  })

  it('neither asks nor decodes for a request whose context says decompress: false, and keeps the request’s own accept-encoding', async () => {
    const asked: Array<string | undefined> = []
    const packed = gzipSync(Buffer.from(text))
    const server = f.serve(await startServer((req, res) => {
      asked.push(req.headers['accept-encoding'])
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(packed)
    }))
    const transport = f.use(new Transport())
    const raw = await transport.roundTrip(withContext(new Request(server.origin), { decompress: false }))
    expect(Buffer.from(await raw.arrayBuffer()).equals(packed)).toBe(true)
    const own = await transport.roundTrip(withContext(new Request(server.origin, { headers: { 'accept-encoding': 'gzip' } }), { decompress: false }))
    expect(Buffer.from(await own.arrayBuffer()).equals(packed)).toBe(true)
    expect(asked).toEqual([undefined, 'gzip'])
  })
})

describe('Transport: request headers', () => {
  it('sends accept and user-agent as Node’s fetch does when the request has none, and keeps the request’s own', async () => {
    const seen: Array<Record<string, string | string[] | undefined>> = []
    const server = f.serve(await startServer((req, res) => {
      seen.push(req.headers)
      res.end()
    }))
    const transport = f.use(new Transport())
    await (await transport.roundTrip(new Request(server.origin))).text()
    await (await transport.roundTrip(new Request(server.origin, { headers: { accept: 'text/html', 'user-agent': 'me/1.0', connection: 'keep-alive', 'keep-alive': 'timeout=9' } }))).text()
    expect(seen[0]).toMatchObject({ accept: '*/*', 'user-agent': 'node', 'accept-encoding': 'gzip, deflate, br' })
    expect(seen[1]).toMatchObject({ accept: 'text/html', 'user-agent': 'me/1.0' })
    // Hop-by-hop headers are the transport's, not the request's.
    expect(seen[1]!['keep-alive']).toBeUndefined()
  })

  it('sends header names in the case the context’s headerNames gives, the others in lower case', async () => {
    let raw: string[] = []
    const server = f.serve(await startServer((req, res) => {
      raw = req.rawHeaders.filter((_, i) => i % 2 === 0)
      res.end()
    }))
    const transport = f.use(new Transport())
    const request = new Request(server.origin, { headers: { 'X-CaSe': '1', 'x-lower': '2', Accept: 'a/b' } })
    const names = new Map([['x-case', 'X-CaSe'], ['accept', 'Accept']])
    await (await transport.roundTrip(withContext(request, { headerNames: names }))).text()
    expect(raw).toEqual(expect.arrayContaining(['X-CaSe', 'x-lower', 'Accept', 'user-agent']))
    expect(raw).not.toContain('accept')
  })
})

describe('Transport: request bodies', () => {
  async function echo(): Promise<TestServer> {
    return startServer(async (req, res) => {
      const body = await readBody(req)
      res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null, length: req.headers['content-length'] ?? null, chunked: req.headers['transfer-encoding'] ?? null }))
    })
  }

  it.each<[string, () => NonNullable<RequestInit['body']>, string]>([
    ['a string', () => 'plain text', 'plain text'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two' }), 'a=1&b=two'],
    ['a Blob', () => new Blob(['blob body']), 'blob body'],
    ['an ArrayBuffer', () => new TextEncoder().encode('array buffer').buffer as ArrayBuffer, 'array buffer'],
    ['a typed array', () => new TextEncoder().encode('typed array'), 'typed array'],
  ])('sends %s with a content-length', async (_name, make, expected) => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: make() }))
    const seen = (await response.json()) as { body: string; length: string | null }
    expect(seen.body).toBe(expected)
    expect(seen.length).toBe(String(Buffer.byteLength(expected)))
  })

  it('sends FormData as multipart', async () => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const form = new FormData()
    form.append('field', 'value')
    form.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt')
    const response = await transport.roundTrip(new Request(server.origin, { method: 'POST', body: form }))
    const seen = (await response.json()) as { body: string; type: string }
    expect(seen.type).toMatch(/^multipart\/form-data; boundary=/)
    expect(seen.body).toContain('file content')
    expect(seen.body).toContain('name="field"')
  })

  it('streams a ReadableStream body that arrives over time, chunked', async () => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const source = Readable.from(
      (async function* () {
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5))
          yield Buffer.from(`part${i};`)
        }
      })(),
    )
    const body = Readable.toWeb(source) as ReadableStream<Uint8Array>
    const response = await transport.roundTrip(new Request(server.origin, { method: 'PUT', body, duplex: 'half' } as RequestInit))
    const seen = (await response.json()) as { body: string; chunked: string | null; method: string }
    expect(seen).toMatchObject({ method: 'PUT', body: 'part0;part1;part2;', chunked: 'chunked' })
  })

  it('streams a body whose context says streamedBody, chunked, though its bytes are all there at once', async () => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const body = Readable.toWeb(Readable.from([Buffer.from('all '), Buffer.from('there')])) as ReadableStream<Uint8Array>
    const request = new Request(server.origin, { method: 'PUT', body, duplex: 'half' } as RequestInit)
    const response = await transport.roundTrip(withContext(request, { streamedBody: true }))
    expect(await response.json()).toMatchObject({ body: 'all there', chunked: 'chunked', length: null })
  })

  it('fails the request, with the stream’s error as cause, when the request body stream errors', async () => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const failure = new Error('upload source broke')
    let sent = false
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true
          await new Promise((resolve) => setTimeout(resolve, 5))
          controller.enqueue(new TextEncoder().encode('part'))
        } else {
          controller.error(failure)
        }
      },
    })
    const error = await transport
      .roundTrip(new Request(server.origin, { method: 'POST', body, duplex: 'half' } as RequestInit))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    const chain = [error, (error as Error).cause]
    expect(chain).toContain(failure)
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0 })
  })

  it('sends a request with expect: 100-continue', async () => {
    const server = f.serve(await echo())
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(
      new Request(server.origin, { method: 'POST', body: 'after continue', headers: { expect: '100-continue' } }),
    )
    expect(((await response.json()) as { body: string }).body).toBe('after continue')
  })
})
