// A loopback node:http server for the packages' tests, shared like setup-handles.ts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Server as NetServer, Socket } from 'node:net'

/** A loopback server that closes every socket it accepted on close(). */
export interface Origin {
  /** `http://127.0.0.1:port` */
  url: string
  port: number
  /** Connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

/** listen starts a node:http server with `handler` on 127.0.0.1, on a free port. */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Origin> {
  const server: Server = createServer(handler)
  // Longer than any test runs on a loaded machine: a keep-alive conn the
  // server drops at its idle timeout (5 s by default) while a client starts a
  // large PUT on it fails that PUT with ECONNRESET in undici's fetch (a stale
  // race; a test of that race sets its own timeout).
  server.keepAliveTimeout = 60_000
  return serve(server)
}

/** serve listens with `server` (node:http, node:http2, …) on 127.0.0.1:0; its close() destroys every socket it accepted. */
export async function serve(server: NetServer): Promise<Origin> {
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * collectGarbage runs the collector, a turn at a time, until `done()` holds
 * (at most 100 turns; needs --expose-gc). Each collection starts a turn,
 * before `done()` is asked in it: a `WeakRef.deref()` in `done()` keeps its
 * target alive until the turn ends, so a collection after it in the same
 * turn could never take that target.
 */
export async function collectGarbage(done: () => boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('tests need --expose-gc')
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    if (done()) return
  }
}

/** nextMessage resolves with the next message published on the `node:diagnostics_channel` channel `name`, and unsubscribes. */
export function nextMessage(name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = (message: unknown): void => {
      unsubscribe(name, listener)
      resolve(message)
    }
    subscribe(name, listener)
  })
}
