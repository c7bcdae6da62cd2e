import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { gzipSync } from 'node:zlib'

/** DEMO_TIMEOUT is the deadline, in ms, the CLI gives each URL on the embedded site. */
export const DEMO_TIMEOUT = 3_000
/**
 * SLOW_PAGE_DELAY is how long the embedded site's /slow page takes to
 * answer, in ms: far past DEMO_TIMEOUT, which is itself generous so that a
 * busy machine does not time out the other pages.
 */
export const SLOW_PAGE_DELAY = 30_000

/** EmbeddedSite is the demo's own little web: three origins on loopback, plus a port that refuses connections. */
export interface EmbeddedSite {
  /** The start page. */
  start: string
  /** `http://127.0.0.1:port` of each origin. */
  origins: { www: string; docs: string; cdn: string; refused: string }
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

function page(title: string, links: string[]): string {
  const items = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('\n')
  return `<!doctype html><html><head><title>${title}</title><link rel="stylesheet" href="/style.css"></head><body><h1>${title}</h1><ul>\n${items}\n</ul></body></html>`
}

function html(res: ServerResponse, body: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
  res.end(body)
}

async function listen(handler: Handler): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const server = createServer(handler)
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, sockets }
}

/**
 * startSite starts the embedded site. `www` links to its own pages, to
 * `docs` and `cdn`, through same- and cross-origin redirects, to pages that
 * are missing (404) or broken (500), to a port that refuses connections, to a
 * slow page (slower than {@link DEMO_TIMEOUT}), gzip pages and a large page.
 */
export async function startSite(): Promise<EmbeddedSite> {
  const refusedServer = await listen(() => {})
  const refused = refusedServer.url
  await new Promise<void>((resolve) => refusedServer.server.close(() => resolve()))
  const o = { www: '', docs: '', cdn: '', refused }

  // A large page: about 1 MB of HTML (the links are few, the text is long).
  const big = page('Archive', ['/blog', '/blog/first']).replace('</body>', `<p>${'old news, '.repeat(100_000)}</p></body>`)
  const www = await listen((req, res) => {
    switch (req.url) {
      case '/':
        return html(res, page('Home', ['/about', '/blog', '/news', '/archive', '/slow', '/old-about', '/missing', '/broken', `${o.docs}/`, `${o.www}/to-docs`, `${o.refused}/`, 'mailto:hello@example.test', '#top']))
      case '/about':
        return html(res, page('About', ['/', '/team', `${o.cdn}/logo.png`]))
      case '/team':
        return html(res, page('Team', ['/about', '/missing']))
      case '/blog':
        return html(res, page('Blog', ['/', '/blog/first', '/blog/second']))
      case '/blog/first':
        return html(res, page('First post', ['/blog', `${o.docs}/guide`, `${o.docs}/guide/old`, `${o.docs}/api`]))
      case '/blog/second':
        return html(res, page('Second post', ['/blog', '/blog/draft']))
      case '/old-about':
        res.writeHead(301, { location: '/about' }).end()
        return
      case '/to-docs':
        res.writeHead(302, { location: `${o.docs}/guide` }).end()
        return
      case '/news':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' })
        res.end(gzipSync(page('News (gzip)', ['/blog', `${o.cdn}/missing-asset`])))
        return
      case '/archive':
        return html(res, big)
      case '/slow': {
        // Slower than the demo's deadline (DEMO_TIMEOUT): the report shows it as a TimeoutError.
        const timer = setTimeout(() => html(res, page('Slow page', ['/'])), SLOW_PAGE_DELAY)
        res.on('close', () => clearTimeout(timer))
        return
      }
      case '/broken':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error')
        return
      case '/style.css':
        res.writeHead(200, { 'content-type': 'text/css' }).end('body { font-family: sans-serif }')
        return
      default:
        return html(res, page('Not found', ['/']), 404)
    }
  })
  o.www = www.url

  const docs = await listen((req, res) => {
    if (req.method === 'HEAD' && req.url === '/api') return void res.writeHead(405).end()
    switch (req.url) {
      case '/':
        return html(res, page('Docs', ['/guide', '/api']))
      case '/guide':
        return html(res, page('Guide', ['/', '/guide/old']))
      case '/api':
        return html(res, page('API', ['/']))
      case '/guide/old':
        res.writeHead(308, { location: '/guide' }).end()
        return
      default:
        return html(res, page('Not found', []), 404)
    }
  })
  o.docs = docs.url

  const cdn = await listen((req, res) => {
    switch (req.url) {
      case '/logo.png':
        res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(2048))
        return
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such asset')
    }
  })
  o.cdn = cdn.url

  return {
    start: `${o.www}/`,
    origins: o,
    close: async () => {
      for (const s of [www, docs, cdn]) {
        for (const socket of s.sockets) socket.destroy()
        await new Promise((resolve) => s.server.close(resolve))
      }
    },
  }
}
