import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { constants } from 'node:http2'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startRawServer, type TestServer } from '../test/server.js'
import { direct, rejection } from '../test/util.js'
import { MAX_REPLAYS } from './retry-policy.js'
import { Transport } from './transport.js'

// A server that closes every reused conn as soon as a request arrives on it,
// or an HTTP/2 server that refuses every stream: a written request the
// server may have seen is replayed on another conn (or stream), and
// roundTrip and the undici direct path replay it the same number of times.

const f = useFixture()

/** More idle conns than replays allowed: the bound, not the idle list, must stop the replays. */
const IDLE = MAX_REPLAYS + 3

interface ClosingServer extends TestServer {
  /** Requests that arrived on a reused conn (each closed the conn unanswered). */
  readonly reused: number
}

/** A server that answers the first request on each conn (once `IDLE` conns have one, so that each request dials its own) and closes a conn on its second. */
async function startClosingServer(): Promise<ClosingServer> {
  let reused = 0
  let warm = false
  const firsts: Array<() => void> = []
  const server = await startRawServer((socket: Socket) => {
    let requests = 0
    socket.on('error', () => {})
    socket.on('data', (data: Buffer) => {
      if (!data.toString('latin1').includes('\r\n\r\n')) return
      if (++requests > 1) {
        reused++
        return void socket.destroy()
      }
      const answer = (): boolean => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok')
      if (warm) return void answer()
      firsts.push(answer)
      if (firsts.length < IDLE) return
      warm = true
      for (const first of firsts.splice(0)) first()
    })
  })
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  return Object.defineProperty(server, 'reused', { get: () => reused }) as ClosingServer
}

/** Sends a GET through `roundTrip`; resolves with its body. */
async function viaRoundTrip(transport: Transport, url: string): Promise<string> {
  return (await transport.roundTrip(new Request(url))).text()
}

/** Sends a GET through Node's fetch on the Transport's undici entry point; resolves with its body, rejects with the Transport's error (fetch's cause). */
async function viaDispatch(transport: Transport, url: string): Promise<string> {
  try {
    return await (await fetch(url, direct(transport))).text()
  } catch (error) {
    throw (error as Error).cause ?? error
  }
}

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport (%s): replays of a written request are bounded', (_path, send) => {
  it(`replays a GET that a server closed on a reused conn at most MAX_REPLAYS (${MAX_REPLAYS}) times, then fails with RT_SOCKET_CLOSED`, async () => {
    const server = f.serve(await startClosingServer())
    // No raced dial (raceDial): a fresh conn would serve the request, and the bound would not be reached.
    const transport = f.use(new Transport({ raceDial: false }))
    const warm = await Promise.all(Array.from({ length: IDLE }, (_, i) => send(transport, `${server.origin}/warm${i}`)))
    expect(warm).toEqual(Array(IDLE).fill('ok'))
    expect(transport.stats().total).toMatchObject({ dials: IDLE, idle: IDLE })
    let stale = 0
    const onStale = (): void => void stale++
    subscribe('roundtrip:pool:stale-retry', onStale)
    try {
      const error = await rejection(send(transport, `${server.origin}/again`))
      expect(error.code).toBe('RT_SOCKET_CLOSED')
    } finally {
      unsubscribe('roundtrip:pool:stale-retry', onStale)
    }
    // Sent once and replayed MAX_REPLAYS times, each on a reused conn; no new dial.
    expect(server.reused).toBe(1 + MAX_REPLAYS)
    expect(stale).toBe(MAX_REPLAYS)
    expect(transport.stats().total).toMatchObject({ dials: IDLE, idle: IDLE - 1 - MAX_REPLAYS, active: 0, waiting: 0, dialing: 0 })
  })
})

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport (%s): replays of an HTTP/2 stream the server refused are bounded', (_path, send) => {
  it(`sends a GET the server refuses with REFUSED_STREAM on every stream 1 + MAX_REPLAYS (${1 + MAX_REPLAYS}) times, then fails with RT_SOCKET_CLOSED`, async () => {
    let streams = 0
    const server = f.serve(await startH2Server((_req, res) => {
      streams++
      res.stream.close(constants.NGHTTP2_REFUSED_STREAM)
    }))
    const transport = f.use(new Transport({ protocols: ['h2c'] }))
    const error = await rejection(send(transport, `${server.origin}/refused`))
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toContain('REFUSED_STREAM')
    expect(streams).toBe(1 + MAX_REPLAYS)
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0 })
  })
})
