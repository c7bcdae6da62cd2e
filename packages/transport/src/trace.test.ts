import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect } from 'node:net'
import { withContext } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer, startUnixServer } from '../test/server.js'
import type { ClientTrace, GotConnInfo } from './trace.js'
import { Transport } from './transport.js'

const f = useFixture()

function recorder(events: string[]): ClientTrace {
  return {
    getConn: (key) => events.push(`getConn ${key}`),
    connectStart: (network) => events.push(`connectStart ${network}`),
    connectDone: (network, _addr, error) => events.push(`connectDone ${network}${error ? ' error' : ''}`),
    gotConn: ({ reused, wasIdle, idleTime }) => events.push(`gotConn reused=${reused} wasIdle=${wasIdle} idle=${idleTime >= 0}`),
    wroteRequest: () => events.push('wroteRequest'),
    gotFirstResponseByte: () => events.push('gotFirstResponseByte'),
    putIdleConn: (error) => events.push(`putIdleConn${error ? ' error' : ''}`),
  }
}

describe('Transport: trace hooks', () => {
  it('calls every hook in order for a fresh and for a reused connection', async () => {
    const server = f.serve(await startServer((req, res) => res.end('traced')))
    const transport = f.use(new Transport({ raceDial: false }))
    const fresh: string[] = []
    const reused: string[] = []
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: recorder(fresh) }))).text()
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: recorder(reused) }))).text()
    expect(fresh).toEqual([
      `getConn ${server.origin}`,
      'connectStart tcp',
      'connectDone tcp',
      'gotConn reused=false wasIdle=false idle=true',
      'wroteRequest',
      'gotFirstResponseByte',
      'putIdleConn',
    ])
    expect(reused).toEqual([
      `getConn ${server.origin}`,
      'gotConn reused=true wasIdle=true idle=true',
      'wroteRequest',
      'gotFirstResponseByte',
      'putIdleConn',
    ])
  })

  it('reports a closed connection to putIdleConn with the reason', async () => {
    const server = f.serve(await startServer((req, res) => {
      res.setHeader('connection', 'close')
      res.end('bye')
    }))
    const transport = f.use(new Transport())
    const events: string[] = []
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: recorder(events) }))).text()
    expect(events.at(-1)).toBe('putIdleConn error')
  })

  it('turns a hook that throws into a warning and completes the request', async () => {
    const server = f.serve(await startServer((req, res) => res.end('still fine')))
    const transport = f.use(new Transport())
    const warnings: Array<{ code?: string }> = []
    const listen = (w: Error) => warnings.push(w as { code?: string })
    process.on('warning', listen)
    try {
      const trace: ClientTrace = {
        gotConn: () => {
          throw new Error('hook bug')
        },
      }
      const response = await transport.roundTrip(withContext(new Request(server.origin), { trace }))
      expect(await response.text()).toBe('still fine')
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.map((w) => w.code)).toContain('RT_TRACE_HOOK_THREW')
    } finally {
      process.off('warning', listen)
    }
  })
})

describe('Transport: gotConn info', () => {
  it('gives the socket addresses the server saw, read after the connection is gone, and shows them in JSON', async () => {
    const server = f.serve(await startServer((req, res) => res.end(String(req.socket.remotePort))))
    const transport = f.use(new Transport())
    const infos: GotConnInfo[] = []
    const trace: ClientTrace = { gotConn: (info) => void infos.push(info) }
    const ports: string[] = []
    for (let i = 0; i < 2; i++) ports.push(await (await transport.roundTrip(withContext(new Request(server.origin), { trace }))).text())
    await transport.close()
    expect(transport.stats().total.idle).toBe(0)
    expect(infos.map((info) => info.reused)).toEqual([false, true])
    for (const info of infos) {
      expect(info).toMatchObject({ localAddress: '127.0.0.1', localPort: Number(ports[0]), remoteAddress: '127.0.0.1', remotePort: server.port })
      expect(JSON.parse(JSON.stringify(info))).toEqual({
        reused: info.reused, wasIdle: info.wasIdle, idleTime: info.idleTime, protocol: 'http/1.1', shared: false,
        localAddress: '127.0.0.1', localPort: Number(ports[0]), remoteAddress: '127.0.0.1', remotePort: server.port,
      })
    }
  })

  it('reads no address for a hook that does not ask: they are getters, not copied fields', async () => {
    const server = f.serve(await startServer((req, res) => res.end('ok')))
    const transport = f.use(new Transport())
    let seen: GotConnInfo | undefined
    await (await transport.roundTrip(withContext(new Request(server.origin), { trace: { gotConn: (info) => void (seen = info) } }))).text()
    expect(Object.keys(seen!)).toEqual(['reused', 'wasIdle', 'idleTime', 'protocol', 'shared'])
    expect(seen!.remotePort).toBe(server.port)
  })
})

describe('Transport: diagnostics channels', () => {
  it('publishes pool events on roundtrip:* channels while undici’s own channels keep firing', async () => {
    const server = f.serve(await startServer((req, res) => res.end('observed')))
    const transport = f.use(new Transport())
    const seen: string[] = []
    const names = ['roundtrip:conn:connect', 'roundtrip:conn:connected', 'roundtrip:pool:got-conn', 'roundtrip:conn:idle', 'undici:request:create', 'undici:request:headers']
    const handlers = names.map((name) => [name, () => seen.push(name)] as const)
    for (const [name, handler] of handlers) subscribe(name, handler)
    try {
      await (await transport.roundTrip(new Request(server.origin))).text()
    } finally {
      for (const [name, handler] of handlers) unsubscribe(name, handler)
    }
    for (const name of names) expect(seen).toContain(name)
  })
})

describe('Transport: dial hook', () => {
  it('sends requests over a socket the dial hook supplies (a unix socket)', async () => {
    const unix = f.serve(await startUnixServer((req, res) => res.end(`unix ${req.headers.host}`)))
    const dialed: string[] = []
    const transport = f.use(new Transport({ raceDial: false,
      dial: ({ key }) => {
        dialed.push(key)
        return connect(unix.path)
      },
    }))
    for (let i = 0; i < 2; i++) {
      const response = await transport.roundTrip(new Request('http://api.internal/status'))
      expect(await response.text()).toBe('unix api.internal')
    }
    expect(dialed).toEqual(['http://api.internal:80'])
  })
})
