import type { Server as HttpServer } from 'node:http'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { closedPort, rejection } from '../test/util.js'
import { Transport } from './transport.js'

const f = useFixture()

describe('Transport: per-host pools live as long as their connections', () => {
  it('forgets the pools of 300 origins once their connections are closed, keeping the totals', async () => {
    const server = f.serve(await startServer((req, res) => res.end(req.headers.host)))
    // Neither side closes an idle connection on its own while the loop runs.
    ;(server.server as HttpServer).keepAliveTimeout = 0
    // Every host name is dialed to the one loopback server.
    const transport = f.use(new Transport({ idleConnTimeout: 0, dial: () => connect({ host: '127.0.0.1', port: server.port }) }))
    for (let i = 0; i < 300; i++) {
      expect(await (await transport.roundTrip(new Request(`http://host-${i}.test/`))).text()).toBe(`host-${i}.test`)
    }
    expect(Object.keys(transport.stats().hosts)).toHaveLength(300)
    transport.closeIdleConnections()
    await server.closedCount(300)
    const { hosts, total } = transport.stats()
    expect(Object.keys(hosts)).toHaveLength(0)
    expect(total).toMatchObject({ dials: 300, requests: 300, active: 0, idle: 0 })
    // A forgotten origin is met again with a new pool.
    expect(await (await transport.roundTrip(new Request('http://host-7.test/'))).text()).toBe('host-7.test')
    expect(Object.keys(transport.stats().hosts)).toEqual(['http://host-7.test:80'])
    expect(transport.stats().total.requests).toBe(301)
  })

  it('forgets the pool of an origin whose dial failed', async () => {
    const port = await closedPort()
    const transport = f.use(new Transport())
    const error = await rejection(transport.roundTrip(new Request(`http://127.0.0.1:${port}/`)))
    expect(error.code).toBe('RT_CONNECT_REFUSED')
    expect(transport.stats().hosts).toEqual({})
  })
})
