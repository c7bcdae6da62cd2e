import type { Socket } from 'node:net'
import { withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startRawServer, type TestServer } from '../test/server.js'
import { direct } from '../test/util.js'
import { Transport } from './transport.js'

// A keep-alive conn the server spoils right after its response (a FIN, an
// RST, or bytes nobody asked for), in the same write as the response or in
// a later one, and a request sent at once, in the same turn of the event
// loop as the response's end: the request must get its own answer, on a
// new conn, whatever its method and body; nothing of it may be written on
// the spoiled conn, and no byte of that conn may reach it.

const f = useFixture()

const EXTRA = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nEXTRA'

type Fault = 'fin with the response' | 'fin a turn later' | 'bytes with the response' | 'bytes a turn later' | 'rst a turn later'
const FAULTS: Fault[] = ['fin with the response', 'fin a turn later', 'bytes with the response', 'bytes a turn later', 'rst a turn later']

interface SpoilingServer extends TestServer {
  /** Requests that arrived on a conn after its fault: written on a conn the client should have given up. */
  readonly late: number
}

/** A server that answers the first request on each conn with `METHOD path`, then spoils the conn with `fault`. */
async function startSpoilingServer(fault: Fault): Promise<SpoilingServer> {
  let late = 0
  const server = await startRawServer((socket: Socket) => {
    let answered = false
    socket.on('error', () => {})
    socket.on('data', (data: Buffer) => {
      if (answered) return void late++
      const head = data.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      answered = true
      const [method, path] = head.split(' ', 2) as [string, string]
      const body = `${method} ${path}`
      const response = `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nkeep-alive: timeout=60\r\n\r\n${body}`
      switch (fault) {
        case 'fin with the response':
          return void socket.end(response)
        case 'bytes with the response':
          return void socket.write(response + EXTRA)
        default:
          socket.write(response)
          setImmediate(() => {
            if (fault === 'fin a turn later') socket.end()
            else if (fault === 'bytes a turn later') socket.write(EXTRA)
            else socket.resetAndDestroy()
          })
      }
    })
  })
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  return Object.defineProperty(server, 'late', { get: () => late }) as SpoilingServer
}

type Kind = 'GET' | 'POST' | 'POST, streamed body'
const KINDS: Kind[] = ['GET', 'POST', 'POST, streamed body']

function oneChunk(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('streamed'))
      controller.close()
    },
  })
}

/** Sends a request of `kind` to `url` through `roundTrip`; resolves with its body. */
async function viaRoundTrip(transport: Transport, url: string, kind: Kind): Promise<string> {
  let request: Request
  if (kind === 'GET') request = new Request(url)
  else if (kind === 'POST') request = new Request(url, { method: 'POST', body: 'payload' })
  // A body that cannot be produced again (Go's GetBody == nil): only a request nothing of which was written may go out again.
  else request = withContext(new Request(url, { method: 'POST', body: oneChunk(), duplex: 'half' } as RequestInit), { streamedBody: true })
  return (await transport.roundTrip(request)).text()
}

/** Sends a request of `kind` through Node's fetch on the Transport's undici entry point (the path of `toDispatcher`). */
async function viaDispatch(transport: Transport, url: string, kind: Kind): Promise<string> {
  const init: Record<string, unknown> = { ...direct(transport) }
  if (kind === 'POST') Object.assign(init, { method: 'POST', body: 'payload' })
  else if (kind === 'POST, streamed body') Object.assign(init, { method: 'POST', body: oneChunk(), duplex: 'half' })
  return (await fetch(url, init as RequestInit)).text()
}

describe.each([
  ['roundTrip', viaRoundTrip, false],
  ['roundTrip', viaRoundTrip, true],
  ['the undici dispatch path', viaDispatch, false],
  ['the undici dispatch path', viaDispatch, true],
] as const)('Transport (%s, raceDial: %s): a conn spoiled right after its response', (_path, send, raceDial) => {
  it.each(FAULTS)('%s: a GET, a POST and a POST with a one-shot body sent at once each go out on a new conn and get their own answer', async (fault) => {
    const server = f.serve(await startSpoilingServer(fault))
    const transport = f.use(new Transport({ raceDial }))
    expect(await send(transport, `${server.origin}/first`, 'GET')).toBe('GET /first')
    // Each request is sent in the same turn as the end of the response before it: the fault may still be unread in the socket.
    for (const kind of KINDS) {
      const method = kind === 'GET' ? 'GET' : 'POST'
      expect(await send(transport, `${server.origin}/${kind}`, kind)).toBe(`${method} /${encodeURI(kind)}`)
    }
    expect(server.late).toBe(0)
    if (!raceDial) {
      expect(server.connections).toBe(1 + KINDS.length)
      expect(transport.stats().total).toMatchObject({ dials: 1 + KINDS.length, active: 0, waiting: 0, dialing: 0 })
      return
    }
    // Each request after the first may also have raced a dial (it found only the spoiled conn), whose conn is left idle.
    while (transport.stats().total.dialing > 0) await new Promise((resolve) => setImmediate(resolve))
    const { dials } = transport.stats().total
    expect(dials).toBeGreaterThanOrEqual(1 + KINDS.length)
    expect(dials).toBeLessThanOrEqual(1 + 2 * KINDS.length)
    expect(server.connections).toBeLessThanOrEqual(dials)
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0 })
  })
})

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport (%s): a conn spoiled right after its response, handed to a waiting request', (_path, send) => {
  it.each(FAULTS)('%s: the waiting request goes out on a new conn and gets its own answer', async (fault) => {
    const server = f.serve(await startSpoilingServer(fault))
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    // The POST waits for the one conn; it is handed that conn as the GET's response ends.
    const first = send(transport, `${server.origin}/first`, 'GET')
    const second = send(transport, `${server.origin}/second`, 'POST, streamed body')
    expect(await first).toBe('GET /first')
    expect(await second).toBe('POST /second')
    expect(server.late).toBe(0)
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, active: 0, waiting: 0, dialing: 0 })
  })
})
