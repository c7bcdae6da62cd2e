import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startUnixServer } from '../test/server.js'
import { busyCounts, rejection } from '../test/util.js'
import { Transport, type DialInfo } from './index.js'

const f = useFixture()

describe('Transport dial hook', () => {
  it('sends requests over a unix socket supplied by dial and reuses it', async () => {
    const unix = f.serve(await startUnixServer((req, res) => res.end(`unix ${req.method} ${req.url} host=${req.headers.host}`)))
    const infos: DialInfo[] = []
    const transport = f.use(new Transport({
      dial: (info) => {
        infos.push(info)
        return connect(unix.path)
      },
    }))
    for (const path of ['/one', '/two']) {
      const response = await transport.roundTrip(new Request(`http://service.local${path}`))
      expect(await response.text()).toBe(`unix GET ${path} host=service.local`)
    }
    expect(unix.connections).toBe(1)
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({ protocol: 'http:', hostname: 'service.local', port: 80, key: 'http://service.local:80' })
    expect(infos[0]!.signal).toBeInstanceOf(AbortSignal)
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the dial hook throws', async () => {
    const transport = f.use(new Transport({
      dial: () => {
        throw new Error('no route to service')
      },
    }))
    const error = await rejection(transport.roundTrip(new Request('http://service.local/x')))
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect(error.message).toContain('no route to service')
    expect(error.message).toContain('GET http://service.local/x')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })

  it('rejects with RT_CONNECT_FAILED when the unix socket path does not exist', async () => {
    const path = join(tmpdir(), `roundtrip-${randomUUID()}.sock`)
    const transport = f.use(new Transport({ dial: () => connect(path) }))
    const error = await rejection(transport.roundTrip(new Request('http://service.local/')))
    // A missing socket file is ENOENT, not a refusal: reported as a failed connect.
    expect(error.code).toBe('RT_CONNECT_FAILED')
    expect((error.cause as { code?: string }).code).toBe('ENOENT')
    expect(busyCounts(transport)).toEqual({ active: 0, waiting: 0, dialing: 0 })
  })
})
