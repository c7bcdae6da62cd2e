import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startRawServer, startServer, type TestServer } from '../test/server.js'
import { busyCounts, rejection } from '../test/util.js'
import { Transport, type ClientTrace } from './index.js'
import { withContext } from '@roundtrip/core'

let server: TestServer | undefined
let transport: Transport | undefined

afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  await server?.close()
  server = undefined
  transport = undefined
})

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A raw server whose connections answer their first request with a
 * keep-alive response, then drop the socket when the next request arrives,
 * without a byte of response: what a client sees when it reuses a connection
 * the server has just closed.
 */
function oneShotServer(): Promise<TestServer> {
  return startRawServer((socket: Socket) => {
    let answered = false
    let buffered = ''
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      if (answered) {
        socket.destroy()
        return
      }
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0)
      if (buffered.length < end + 4 + length) return
      answered = true
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    })
  })
}

describe('Transport on stale keep-alive connections', () => {
  it('serves 1,000 sequential GETs against a server that closes idle sockets without warning', async () => {
    // Node's own keepAliveTimeout adds a 1 s buffer; this server closes an
    // idle socket exactly 5 ms after its last response, without a hint.
    const idleTimers = new Map<Socket, NodeJS.Timeout>()
    server = await startServer((req, res) => {
      const socket = req.socket
      clearTimeout(idleTimers.get(socket))
      res.setHeader('connection', 'keep-alive')
      res.on('finish', () => {
        idleTimers.set(
          socket,
          setTimeout(() => socket.destroy(), 5),
        )
      })
      res.end('ok')
    })
    server.server.on('connection', (socket: Socket) => socket.on('close', () => clearTimeout(idleTimers.get(socket))))
    let gets = 0
    const trace: ClientTrace = { getConn: () => gets++ }
    transport = new Transport()
    for (let i = 0; i < 1000; i++) {
      const response = await transport.roundTrip(withContext(new Request(`${server.origin}/${i}`), { trace }))
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('ok')
      await pause(Math.floor(Math.random() * 9))
    }
    const stats = transport.stats().total
    expect(stats.reusedRequests).toBeGreaterThan(0)
    expect(server.connections).toBeGreaterThan(1)
    // Each retry looks for a connection again: the race did happen (about
    // 150 times in 1,000 here) and every one was retried.
    expect(gets - 1000).toBeGreaterThan(0)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('does not retry a POST that fails on a reused connection', async () => {
    server = await oneShotServer()
    transport = new Transport()
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    const url = `${server.origin}/post`
    const error = await rejection(transport.roundTrip(new Request(url, { method: 'POST', body: 'data' })))
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(error.message).toContain(`POST ${url}`)
    expect(error.message).toContain('before the response arrived')
    expect(server.connections).toBe(1)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('retries a POST with an Idempotency-Key on a new connection', async () => {
    server = await oneShotServer()
    transport = new Transport()
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    const request = new Request(`${server.origin}/post`, { method: 'POST', body: 'data', headers: { 'idempotency-key': 'k1' } })
    const response = await transport.roundTrip(request)
    expect(await response.text()).toBe('ok')
    expect(server.connections).toBe(2)
  })

  it('retries a GET that fails on a reused connection', async () => {
    server = await oneShotServer()
    transport = new Transport()
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    expect(await (await transport.roundTrip(new Request(server.origin))).text()).toBe('ok')
    expect(server.connections).toBe(2)
  })

  it('does not retry a GET that fails on a fresh connection', async () => {
    server = await startRawServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', () => socket.destroy())
    })
    transport = new Transport()
    const error = await rejection(transport.roundTrip(new Request(server.origin)))
    expect(error.code).toBe('RT_SOCKET_CLOSED')
    expect(server.connections).toBe(1)
    expect(transport.stats().total.dials).toBe(1)
  })
})
