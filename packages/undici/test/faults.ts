// What the fault tests (src/faults*.test.ts) share: the dispatchers compared,
// the two clients (Node's global fetch and undici.request), what a caller
// observes of an outcome, and a raw-bytes server that records what it saw.
import { createServer as createNetServer, type Socket } from 'node:net'
import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { Agent, request, type Dispatcher } from 'undici'
import { serve, type Origin } from '../../../test/loopback.js'
import { toDispatcher } from '../src/to-dispatcher.js'

/** A layer that hands every request on: it puts a dispatch on the `Request` path. */
const passthrough = (next: RoundTripper): RoundTripper => ({ roundTrip: (r) => next.roundTrip(r) })

/** The three dispatchers compared, made afresh for each test so pools do not carry over. */
export const DISPATCHERS = {
  agent: (): Dispatcher => new Agent(),
  direct: (): Dispatcher => toDispatcher(new Transport()),
  stack: (): Dispatcher => toDispatcher(compose(new Transport(), passthrough)),
} as const
export type DispatcherName = keyof typeof DISPATCHERS
export const DISPATCHER_NAMES = Object.keys(DISPATCHERS) as DispatcherName[]

/** What a caller observes of one exchange: the head and body it read, or where and how it failed. */
export type Outcome = { status: number; body: string | null } | { status: number; bodyError: Failure } | { error: Failure }

/** A failure as code written for Node's fetch or undici reads it: class, code, and the class and code of its cause. */
export interface Failure {
  name: string
  code?: unknown
  cause?: { name: string; code?: unknown } | undefined
}

export function failure(error: unknown): Failure {
  const e = error as Error & { code?: unknown; cause?: Error & { code?: unknown } }
  const out: Failure = { name: e?.name ?? typeof e }
  if (e?.code !== undefined) out.code = e.code
  if (e?.cause !== undefined) out.cause = { name: e.cause.name, ...(e.cause.code === undefined ? {} : { code: e.cause.code }) }
  return out
}

/** The two ways a caller reaches a dispatcher; each runs one exchange and reads its body whole. */
export type Client = (url: string, dispatcher: Dispatcher, init?: Init) => Promise<Outcome>
export interface Init {
  method?: string
  body?: string
  headers?: Record<string, string>
  signal?: AbortSignal
}

export const CLIENTS: Record<'fetch' | 'request', Client> = {
  async fetch(url, dispatcher, init = {}) {
    let response: Response
    try {
      response = await fetch(url, { ...init, dispatcher } as unknown as RequestInit)
    } catch (error) {
      return { error: failure(error) }
    }
    try {
      const text = await response.text()
      return { status: response.status, body: response.body === null ? null : text }
    } catch (error) {
      return { status: response.status, bodyError: failure(error) }
    }
  },
  async request(url, dispatcher, init = {}) {
    let response: Dispatcher.ResponseData<unknown>
    try {
      response = await request(url, { ...init, dispatcher } as Parameters<typeof request>[1])
    } catch (error) {
      return { error: failure(error) }
    }
    try {
      return { status: response.statusCode, body: await response.body.text() }
    } catch (error) {
      return { status: response.statusCode, bodyError: failure(error) }
    }
  },
}
export const CLIENT_NAMES = Object.keys(CLIENTS) as ('fetch' | 'request')[]

/** One request as the raw server read it: its connection (numbered from 0 in the order they came) and its place on it. */
export interface Seen {
  conn: number
  nth: number
  method: string
  path: string
  body: string
}

/** How the raw server answers a request: `socket` is its connection, `nth` the request's place on it (0 first). */
export type Reply = (socket: Socket, nth: number, method: string) => void

/** A raw-bytes server: a net server that reads request heads (and content-length bodies) and answers by path. */
export interface RawServer extends Origin {
  readonly seen: Seen[]
  /** Connections the server has seen close, by number. */
  readonly closed: Set<number>
  /** Resolves when connection `conn` has closed. */
  whenClosed(conn: number): Promise<void>
}

export async function rawServer(replies: Record<string, Reply>): Promise<RawServer> {
  const seen: Seen[] = []
  const closed = new Set<number>()
  const waiters = new Map<number, () => void>()
  let next = 0
  const server = createNetServer((socket) => {
    const conn = next++
    let nth = 0
    let buffer = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.on('close', () => {
      closed.add(conn)
      waiters.get(conn)?.()
    })
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data])
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.subarray(0, end).toString('latin1')
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        const body = buffer.subarray(end + 4, end + 4 + length).toString()
        buffer = buffer.subarray(end + 4 + length)
        const [method = '', path = ''] = head.split(' ')
        seen.push({ conn, nth, method, path, body })
        const reply = replies[path]
        if (reply === undefined) socket.destroy()
        else reply(socket, nth, method)
        nth++
      }
    })
  })
  const origin = await serve(server)
  return Object.assign(origin, {
    seen,
    closed,
    whenClosed: (conn: number) => (closed.has(conn) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(conn, resolve))),
  })
}
