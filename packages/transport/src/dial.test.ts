import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { busyCounts, rejection } from '../test/util.js'
import { Transport, type DialInfo } from './index.js'

let server: Server | undefined
let transport: Transport | undefined
const sockets = new Set<Socket>()

afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  if (server !== undefined) await new Promise<void>((resolve) => server!.close(() => resolve()))
  server = undefined
  transport = undefined
})

/** startUnixServer starts a node:http server on a socket path in the temp folder. */
async function startUnixServer(): Promise<{ path: string; connections: () => number }> {
  const path = join(tmpdir(), `roundtrip-${randomUUID()}.sock`)
  let connections = 0
  server = createServer((req, res) => res.end(`unix ${req.method} ${req.url} host=${req.headers.host}`))
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server!.listen(path, resolve))
  return { path, connections: () => connections }
}

describe('Transport dial hook', () => {
  it('sends requests over a unix socket supplied by dial and reuses it', async () => {
    const unix = await startUnixServer()
    const infos: DialInfo[] = []
    transport = new Transport({
      dial: (info) => {
        infos.push(info)
        return connect(unix.path)
      },
    })
    for (const path of ['/one', '/two']) {
      const response = await transport.roundTrip(new Request(`http://service.local${path}`))
      expect(await response.text()).toBe(`unix GET ${path} host=service.local`)
    }
    expect(unix.connections()).toBe(1)
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({ protocol: 'http:', hostname: 'service.local', port: 80, key: 'http://service.local:80' })
    expect(infos[0]!.signal).toBeInstanceOf(AbortSignal)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the dial hook throws', async () => {
    transport = new Transport({
      dial: () => {
        throw new Error('no route to service')
      },
    })
    const error = await rejection(transport.roundTrip(new Request('http://service.local/x')))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain('no route to service')
    expect(error.message).toContain('GET http://service.local/x')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the unix socket path does not exist', async () => {
    const path = join(tmpdir(), `roundtrip-${randomUUID()}.sock`)
    transport = new Transport({ dial: () => connect(path) })
    const error = await rejection(transport.roundTrip(new Request('http://service.local/')))
    // A missing socket file is ENOENT, not a refusal: reported as a failed connect.
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect((error.cause as { code?: string }).code).toBe('ENOENT')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
