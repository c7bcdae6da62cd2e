import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'

export interface Site {
  url: string
  /** Sockets closed by the other side so far. */
  closed(): number
  close(): Promise<void>
}

/** A loopback server: `/big` sends 8 MiB, `/empty` a 204, anything else a small JSON body. */
export async function site(): Promise<Site> {
  const big = Buffer.alloc(8 * 1024 * 1024, 1)
  const server: Server = createServer((req, res) => {
    if (req.url === '/big') res.end(big)
    else if (req.url === '/empty') res.writeHead(204).end()
    else if (req.url === '/form') res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end('a=1&b=2')
    else res.writeHead(200, { 'content-type': 'application/json', 'x-kept': 'yes' }).end('{"hello":"world"}')
  })
  const sockets = new Set<Socket>()
  let closed = 0
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => {
      sockets.delete(s)
      closed++
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    closed: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Runs garbage collection until `done()` or 100 rounds. */
export async function collectUntil(done: () => boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!
  for (let i = 0; i < 100 && !done(); i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}
