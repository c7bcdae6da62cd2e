import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { describe, expect, it } from 'vitest'
import { listen, useFixture } from '../test/otel-env.js'
import { DURATION_BUCKETS, otel } from './index.js'

const f = useFixture()

describe('otel(): HTTP client metrics', () => {
  it('records http.client.request.duration in seconds with the required attributes', async () => {
    const origin = f.serve(await listen((req, res) => res.writeHead(req.url === '/missing' ? 404 : 200).end('x')))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    await (await fetch(`${origin.url}/a`)).text()
    await (await fetch(`${origin.url}/missing`)).text()
    await f.t.collect()
    const points = f.t.points('http.client.request.duration')
    const server = { 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'server.port': origin.port }
    expect(points.map((p) => p.attributes)).toEqual([
      { ...server, 'http.response.status_code': 200 },
      { ...server, 'http.response.status_code': 404, 'error.type': '404' },
    ])
    const histogram = points[0]!.value as { count: number; sum: number; buckets: { boundaries: number[] } }
    expect(histogram.count).toBe(1)
    expect(histogram.sum).toBeGreaterThan(0)
    expect(histogram.sum).toBeLessThan(60) // seconds, not milliseconds
    expect(histogram.buckets.boundaries).toEqual(DURATION_BUCKETS)
  })

  it('reports http.client.open_connections by state from the Transport below', async () => {
    let finish: (() => void) | undefined
    const origin = f.serve(await listen((_req, res) => {
      res.write('a')
      finish = () => res.end('b')
    }))
    const fetch = createFetch(compose(f.transport, otel(f.t.options)))
    const response = await fetch(origin.url)
    const server = { 'server.address': '127.0.0.1', 'server.port': origin.port, 'url.scheme': 'http' }
    await f.t.collect()
    expect(f.t.points('http.client.open_connections').map((p) => [p.attributes, p.value])).toEqual([
      [{ ...server, 'http.connection.state': 'active' }, 1],
      [{ ...server, 'http.connection.state': 'idle' }, 0],
    ])
    finish!()
    expect(await response.text()).toBe('ab')
    await f.t.collect()
    expect(f.t.points('http.client.open_connections').map((p) => [p.attributes['http.connection.state'], p.value])).toEqual([
      ['active', 0],
      ['idle', 1],
    ])
  })

  it('stops reading the Transport when the stack is closed', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const stack = compose(f.transport, otel(f.t.options))
    await (await createFetch(stack)(origin.url)).text()
    await stack.close?.()
    await f.t.collect()
    expect(f.t.points('http.client.open_connections')).toEqual([])
  })

  it('records no connection metric without a Transport below', async () => {
    const origin = f.serve(await listen((_req, res) => res.end()))
    const fetch = createFetch(compose({ roundTrip: (r: Request) => f.transport.roundTrip(r) }, otel(f.t.options)))
    await (await fetch(origin.url)).text()
    await f.t.collect()
    expect(f.t.points('http.client.open_connections')).toEqual([])
    expect(f.t.points('http.client.request.duration')).toHaveLength(1)
  })
})
