import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { withContext } from '@roundtrip/core'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { busyCounts, deferred, rejection } from '../test/util.js'
import { Transport, channels, type ClientTrace, type GotConnInfo } from './index.js'

let server: TestServer | undefined
let transport: Transport | undefined
const subscriptions: Array<[string, (message: unknown) => void]> = []

afterEach(async () => {
  for (const [name, listener] of subscriptions.splice(0)) unsubscribe(name, listener)
  transport?.destroy()
  await transport?.close()
  await server?.close()
  server = undefined
  transport = undefined
})

function listen(name: string): unknown[] {
  const messages: unknown[] = []
  const listener = (message: unknown): void => void messages.push(message)
  subscribe(name, listener)
  subscriptions.push([name, listener])
  return messages
}

/** recorder returns a trace that records every hook call by name, with gotConn's info. */
function recorder(): { trace: ClientTrace; events: string[]; gotConn: GotConnInfo[] } {
  const events: string[] = []
  const gotConn: GotConnInfo[] = []
  const trace: ClientTrace = {
    getConn: (hostPort) => events.push(`getConn ${hostPort}`),
    connectStart: (network) => events.push(`connectStart ${network}`),
    connectDone: (network, _address, error) => events.push(`connectDone ${network}${error ? ' error' : ''}`),
    gotConn: (info) => {
      gotConn.push(info)
      events.push('gotConn')
    },
    wroteRequest: (info) => events.push(`wroteRequest${info.error ? ' error' : ''}`),
    gotFirstResponseByte: () => events.push('gotFirstResponseByte'),
    putIdleConn: (error) => events.push(`putIdleConn${error ? ' error' : ''}`),
  }
  return { trace, events, gotConn }
}

describe('Transport trace hooks and channels', () => {
  it('calls every hook in order for a fresh and then a reused connection', async () => {
    server = await startServer((_req, res) => res.end('ok'))
    transport = new Transport()
    const key = `http://127.0.0.1:${server.port}`

    const fresh = recorder()
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: fresh.trace }))).text()
    expect(fresh.events).toEqual([
      `getConn ${key}`,
      'connectStart tcp',
      'connectDone tcp',
      'gotConn',
      'wroteRequest',
      'gotFirstResponseByte',
      'putIdleConn',
    ])
    expect(fresh.gotConn[0]).toMatchObject({ reused: false, wasIdle: false, idleTime: 0, remoteAddress: '127.0.0.1', remotePort: server.port })

    const reused = recorder()
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: reused.trace }))).text()
    expect(reused.events).toEqual([`getConn ${key}`, 'gotConn', 'wroteRequest', 'gotFirstResponseByte', 'putIdleConn'])
    expect(reused.gotConn[0]).toMatchObject({ reused: true, wasIdle: true })
    expect(reused.gotConn[0]!.idleTime).toBeGreaterThanOrEqual(0)
    expect(server.connections).toBe(1)
  })

  it('reports a closed connection to putIdleConn with an error', async () => {
    server = await startServer((_req, res) => res.end('ok'))
    transport = new Transport({ disableKeepAlives: true })
    const errors: Array<Error | undefined> = []
    const trace: ClientTrace = { putIdleConn: (error) => errors.push(error) }
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace }))).text()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(Error)
  })

  it('turns a hook that throws into an RT_TRACE_HOOK_THREW warning without breaking the request', async () => {
    server = await startServer((_req, res) => res.end('ok'))
    transport = new Transport()
    const warned = deferred<Error & { code?: string }>()
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === 'RT_TRACE_HOOK_THREW') warned.resolve(warning)
    }
    process.on('warning', onWarning)
    try {
      const trace: ClientTrace = {
        gotConn: () => {
          throw new Error('hook bug')
        },
      }
      const response = await transport.roundTrip(withContext(new Request(server.origin), { trace }))
      expect(await response.text()).toBe('ok')
      const warning = await warned.promise
      expect(warning.message).toContain('gotConn')
      expect(warning.message).toContain('hook bug')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('publishes pool events on roundtrip:* diagnostics channels', async () => {
    const gate = deferred()
    server = await startServer((_req, res) => void gate.promise.then(() => res.end('ok')))
    const connect = listen('roundtrip:conn:connect')
    const connected = listen('roundtrip:conn:connected')
    const gotConn = listen('roundtrip:pool:got-conn')
    const queued = listen('roundtrip:pool:queued')
    const waitFailed = listen('roundtrip:pool:wait-failed')
    const idle = listen('roundtrip:conn:idle')
    const closed = listen('roundtrip:conn:closed')
    transport = new Transport({ maxConnsPerHost: 1 })
    const key = `http://127.0.0.1:${server.port}`

    const first = transport.roundTrip(new Request(server.origin))
    const controller = new AbortController()
    const second = transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    controller.abort(new Error('stop waiting'))
    await rejection(second)
    gate.resolve()
    await (await first).text()
    transport.closeIdleConnections()
    await server.closedCount(1)

    expect(connect).toEqual([{ key }])
    expect(connected).toEqual([{ key }])
    expect(gotConn).toEqual([{ key, reused: false, wasIdle: false }])
    expect(queued).toEqual([{ key, waiting: 2 }])
    expect(waitFailed).toEqual([{ key, reason: 'aborted' }])
    expect(idle).toEqual([{ key, requests: 1 }])
    expect(closed).toEqual([{ key, reason: 'closeIdleConnections' }])
    expect(channels.idle.name).toBe('roundtrip:conn:idle')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it("keeps undici's own diagnostics channels firing", async () => {
    server = await startServer((_req, res) => res.end('ok'))
    const created = listen('undici:request:create')
    const headers = listen('undici:request:headers')
    transport = new Transport()
    await (await transport.roundTrip(new Request(`${server.origin}/seen`))).text()
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({ request: { method: 'GET', path: '/seen' } })
    expect(headers).toHaveLength(1)
  })
})
