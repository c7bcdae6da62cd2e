import type { IncomingMessage, ServerResponse } from 'node:http'
import * as zlib from 'node:zlib'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'

export { collectGarbage, listen, nextMessage, serve, type Origin } from '../../../test/loopback.js'

/** zstd-compressed bytes where Node's zlib has zstd (22.15, 23.8 and later); the bytes as they are before. */
function zstd(data: Buffer): Buffer {
  const compress = (zlib as { zstdCompressSync?: (data: Buffer) => Buffer }).zstdCompressSync
  return compress === undefined ? data : compress(data)
}

async function body(req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const c of req) s += c
  return s
}

/**
 * The scenario server: echoes requests, redirects of every kind (to itself
 * or to `other`), compressed bodies, null-body statuses, cookies.
 */
export function scenarioHandler(other: () => string): (req: IncomingMessage, res: ServerResponse) => void {
  // A client that gives up mid-upload (a content-length its body does not
  // match) aborts the request being read: that is the scenario, not a failure.
  return (req, res) => void scenario(req, res).catch(() => res.destroy())
  async function scenario(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x')
    const path = url.pathname
    const status = Number(url.searchParams.get('status') ?? '302')
    if (path === '/echo') {
      const text = await body(req)
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          body: text,
          contentType: req.headers['content-type'] ?? null,
          authorization: req.headers.authorization ?? null,
          cookie: req.headers.cookie ?? null,
          custom: req.headers['x-custom'] ?? null,
          host: req.headers.host ?? null,
          referer: req.headers.referer ?? null,
        }),
      )
      return
    }
    if (path === '/raw-headers') {
      // The header names as they came on the wire (sorted: servers do not care for the order).
      await body(req)
      const names = req.rawHeaders.filter((name, i) => i % 2 === 0 && /^(x-|content-type$|accept$|user-agent$)/i.test(name))
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(names.sort()))
      return
    }
    if (path === '/redirect') {
      await body(req)
      const to = url.searchParams.get('to') ?? '/echo'
      const policy = url.searchParams.get('policy')
      res.writeHead(status, { location: to === 'other' ? `${other()}/echo` : to, ...(policy === null ? {} : { 'referrer-policy': policy }) })
      res.end('moving')
      return
    }
    if (path === '/loop') {
      res.writeHead(302, { location: '/loop' }).end()
      return
    }
    if (path === '/no-location') {
      res.writeHead(302).end('nowhere')
      return
    }
    if (path === '/bad-scheme') {
      res.writeHead(302, { location: 'ftp://example.test/' }).end()
      return
    }
    if (path === '/cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
      res.end('cookies')
      return
    }
    if (path === '/status') {
      res.writeHead(Number(url.searchParams.get('code')), { 'x-status': 'yes' })
      res.end()
      return
    }
    if (path === '/encoded') {
      const coding = url.searchParams.get('coding')!
      const raw = Buffer.from('decoded text '.repeat(50))
      const encoded = coding === 'gzip' ? gzipSync(raw) : coding === 'deflate' ? deflateSync(raw) : brotliCompressSync(raw)
      res.writeHead(200, { 'content-encoding': coding, 'content-type': 'text/plain' })
      res.end(encoded)
      return
    }
    if (path === '/slow') {
      res.write('start')
      setTimeout(() => res.end('end'), 200)
      return
    }
    if (path === '/hang') return
    if (path === '/length-required') {
      // As S3, GCS signed PUTs and many servers: a chunked upload is refused with 411.
      let bytes = 0
      for await (const chunk of req) bytes += (chunk as Buffer).byteLength
      const chunked = req.headers['transfer-encoding'] !== undefined
      res.writeHead(chunked ? 411 : 200, { 'content-type': 'application/json' })
      // A multipart body's size depends on the implementation's boundary: its count is not compared.
      const multipart = req.headers['content-type']?.startsWith('multipart/form-data') === true
      const length = req.headers['content-length'] ?? null
      res.end(JSON.stringify({ bytes: multipart ? 'multipart' : bytes, length: multipart ? length === String(bytes) : length, chunked }))
      return
    }
    if (path === '/reset') {
      req.socket.resetAndDestroy()
      return
    }
    if (path === '/cut') {
      // Half a body, then the connection goes: once the half is with the
      // kernel, a close (FIN, not RST) reaches the client after it.
      if (url.searchParams.get('coding') === 'gzip') {
        const gz = gzipSync(Buffer.from('gzipped text '.repeat(200)))
        res.writeHead(200, { 'content-length': String(gz.length), 'content-encoding': 'gzip' })
        res.write(gz.subarray(0, gz.length >> 1), () => req.socket.destroy())
        return
      }
      res.writeHead(200, { 'content-length': '100' })
      res.write('x'.repeat(50), () => req.socket.destroy())
      return
    }
    if (path === '/truncated-gzip') {
      // A gzip stream without its last 8 bytes (CRC and size): what a cut-short upstream sends.
      const gz = gzipSync(Buffer.from('decoded text '.repeat(20)))
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(gz.length - 8) })
      res.end(gz.subarray(0, gz.length - 8))
      return
    }
    if (path === '/unsolicited-continue') {
      // A 100 Continue the request did not ask for (no expect header), then the response.
      res.writeContinue()
      res.end('after continue')
      return
    }
    if (path === '/cache-headers') {
      // What the fetch standard's HTTP-network-or-cache fetch adds for the cache mode, conditional headers and Range (the default accept-encoding differs between clients: only identity is told).
      await body(req)
      const acceptEncoding = req.headers['accept-encoding'] ?? null
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ pragma: req.headers.pragma ?? null, cacheControl: req.headers['cache-control'] ?? null, acceptEncoding: acceptEncoding?.includes('identity') === true ? acceptEncoding : 'a default' }))
      return
    }
    if (path === '/padded-header') {
      res.setHeader('x-padded', 'value  ')
      res.end('padded')
      return
    }
    if (path === '/bad-location') {
      res.writeHead(302, { location: 'http://[not-a-host' }).end()
      return
    }
    if (path === '/credentials') {
      res.writeHead(302, { location: `http://user:S3CRET@${req.headers.host}/echo` }).end()
      return
    }
    if (path === '/non-ascii-location') {
      // The UTF-8 bytes of the path, sent raw (one byte per latin1 character on node:http's side).
      res.setHeader('location', Buffer.from('/echo?q=é€', 'utf8').toString('latin1'))
      res.writeHead(302).end()
      return
    }
    if (path === '/proxy-auth') {
      res.writeHead(407, { 'proxy-authenticate': 'Basic' }).end('who are you')
      return
    }
    if (path === '/coded') {
      // A chain of content codings, each applied in order: gzip, then the next, ….
      const codings = url.searchParams.get('codings')!.split(',')
      let data: Buffer = Buffer.from('decoded text '.repeat(20))
      for (const coding of codings) data = coding === 'gzip' ? gzipSync(data) : coding === 'br' ? brotliCompressSync(data) : coding === 'deflate' ? deflateSync(data) : coding === 'zstd' ? zstd(data) : data
      res.writeHead(200, { 'content-encoding': codings.join(', '), 'content-type': 'text/plain' })
      res.end(data)
      return
    }
    res.writeHead(404).end('not found')
  }
}
