import { gzipSync } from 'node:zlib'
import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import type { Dispatcher } from 'undici'
import { afterEach } from 'vitest'
import { startServer, writeLarge, type TestServer, type Writer } from './server.js'

/** What a toDispatcher test file shares: the values it closes after each test, and one server that answers by path. */
export interface DispatchFixture {
  /** What the server writes to `/large` (16 MiB), once asked. */
  readonly writer: Writer | undefined
  /** Called when the server holds a request to `/silent` (no head, ever); set by the test. */
  serverHolding: (() => void) | undefined
  /** track closes `value` after the test (the last tracked first). */
  track<T extends { close(): Promise<void> }>(value: T): T
  /** untrack leaves `value` to the test (one it closed itself). */
  untrack(value: { close(): Promise<void> }): void
  /**
   * serve starts the server: `/large` 16 MiB, `/hang` a head and nothing
   * more, `/held` a first chunk, `/silent` nothing, `/gzip` a gzip body,
   * `/trailers` a trailer, `/cookies` two set-cookie; any other path echoes
   * `METHOD path content-length|chunked body`.
   */
  serve(): Promise<TestServer>
}

/**
 * useDispatchFixture registers the file's afterEach and returns its
 * fixture. Each test file calls it: with vitest's `isolate: false`, an
 * afterEach at the top of a shared module would be registered for the first
 * file that imports it only.
 */
export function useDispatchFixture(): DispatchFixture {
  const closing: Array<{ close(): Promise<void> }> = []
  const f: DispatchFixture & { writer: Writer | undefined } = {
    writer: undefined,
    serverHolding: undefined,
    track(value) {
      closing.push(value)
      return value
    },
    untrack(value) {
      closing.splice(closing.indexOf(value), 1)
    },
    async serve() {
      return f.track(await startServer((req, res) => {
        if (req.url === '/large') f.writer = writeLarge(res, 16 * 1024 * 1024)
        else if (req.url === '/hang') res.flushHeaders()
        else if (req.url === '/held') res.write('first')
        else if (req.url === '/silent') f.serverHolding?.()
        else if (req.url === '/gzip') {
          res.writeHead(200, { 'content-encoding': 'gzip' })
          res.end(gzipSync('packed'))
        } else if (req.url === '/trailers') {
          res.writeHead(200, { trailer: 'x-checksum' })
          res.write('data')
          res.addTrailers({ 'x-checksum': 'abc123' })
          res.end()
        } else if (req.url === '/cookies') {
          res.setHeader('set-cookie', ['a=1', 'b=2'])
          res.end()
        } else {
          let body = ''
          req.on('data', (d: Buffer) => (body += d.toString()))
          req.on('end', () => res.end(`${req.method} ${req.url} ${req.headers['content-length'] ?? 'chunked'} ${body}`))
        }
      }))
    },
  }
  afterEach(async () => {
    f.writer = undefined
    f.serverHolding = undefined
    for (const c of closing.splice(0).reverse()) await c.close()
  })
  return f
}

/** A handler of undici 7's generation that records what it is told. */
export function modernHandler(): Dispatcher.DispatchHandler & { events: string[]; chunks: Buffer[]; controller?: Dispatcher.DispatchController; done: Promise<void> } {
  let resolve!: () => void
  const done = new Promise<void>((r) => (resolve = r))
  const handler: ReturnType<typeof modernHandler> = {
    events: [],
    chunks: [],
    done,
    onRequestStart(controller) {
      handler.controller = controller
      handler.events.push('start')
    },
    onResponseStart(_controller, status, headers) {
      handler.events.push(`head ${status} ${String(headers['content-length'] ?? '')}`)
    },
    onResponseData(_controller, chunk) {
      handler.chunks.push(chunk)
    },
    onResponseEnd(_controller, trailers) {
      handler.events.push(`end ${JSON.stringify(trailers)}`)
      resolve()
    },
    onResponseError(_controller, error) {
      handler.events.push(`error ${(error as { code?: string }).code ?? error.message}`)
      resolve()
    },
  }
  return handler
}

/** The two paths a dispatch can take: a bare Transport takes it itself (core's undiciDispatch), a stack gets a Request. */
export const PATHS: Array<[string, () => RoundTripper & { close(): Promise<void> }]> = [
  ['the Transport’s direct path', () => new Transport()],
  ['the Request path, through a stack', () => compose(new Transport())],
]

export function bytesOf(chunks: Buffer[]): number {
  return chunks.reduce((n, c) => n + c.length, 0)
}
