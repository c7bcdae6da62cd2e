import type { ServerKind } from './server.js'

/** Case is one benchmark setting: which server, how many origins, what body, how many requests in flight. */
export interface Case {
  /** id is the short name used by `--cases`. */
  id: string
  /** title is the heading shown in the report. */
  title: string
  server: ServerKind
  /** origins is how many loopback ports the server listens on; requests go to them in turn. */
  origins: number
  /** bodyBytes is the size of every response body. */
  bodyBytes: number
  /** concurrency is the number of requests in flight (one loop each). */
  concurrency: number
  /**
   * proxy: requests go through a local HTTP proxy (the `proxy` package, in
   * the server's process); only clients that take a proxy run this case.
   */
  proxy?: boolean
  /**
   * tls: an `https:` server speaking HTTP/2 (ALPN `h2`, `http/1.1` too) with
   * a certificate made for the run; only clients that take a CA run it.
   */
  tls?: boolean
}

const SMALL = 11

/** Every case the bench knows, in report order. */
export const CASES: readonly Case[] = [
  { id: 'c1', title: 'small body, concurrency 1', server: 'raw', origins: 1, bodyBytes: SMALL, concurrency: 1 },
  { id: 'c16', title: 'small body, concurrency 16', server: 'raw', origins: 1, bodyBytes: SMALL, concurrency: 16 },
  { id: 'c64', title: 'small body, concurrency 64', server: 'raw', origins: 1, bodyBytes: SMALL, concurrency: 64 },
  { id: 'c64-http', title: 'small body, concurrency 64, node:http server', server: 'http', origins: 1, bodyBytes: SMALL, concurrency: 64 },
  { id: '64k', title: '64 KiB body, concurrency 16', server: 'raw', origins: 1, bodyBytes: 64 * 1024, concurrency: 16 },
  { id: 'origins', title: '200 origins, concurrency 64', server: 'raw', origins: 200, bodyBytes: SMALL, concurrency: 64 },
  { id: 'h2-c1', title: 'small body, concurrency 1, HTTPS server speaking HTTP/2', server: 'h2', origins: 1, bodyBytes: SMALL, concurrency: 1, tls: true },
  { id: 'h2-c64', title: 'small body, concurrency 64, HTTPS server speaking HTTP/2', server: 'h2', origins: 1, bodyBytes: SMALL, concurrency: 64, tls: true },
  { id: 'proxy', title: 'small body, concurrency 16, through a local HTTP proxy', server: 'http', origins: 1, bodyBytes: SMALL, concurrency: 16, proxy: true },
]
