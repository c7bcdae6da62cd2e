import { chain, compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { concurrencyLimit } from './concurrency-limit/concurrency-limit.js'
import { dedupe } from './dedupe/dedupe.js'
import { retry } from './retry/retry.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/flaky' && server.count('/flaky') <= 2) res.writeHead(503).end('no')
    else res.end('hello')
  })
})
afterAll(() => server.close())

let transport: Transport
afterEach(async () => {
  server.hits.clear()
  await transport.close()
})

describe('composition order (README "Order")', () => {
  it('dedupe(), retry(): concurrent callers share the whole retried call', async () => {
    transport = new Transport()
    const client = compose(transport, dedupe(), retry({ sleep: async () => {} }))
    const texts = await Promise.all(Array.from({ length: 10 }, () => client.roundTrip(new Request(`${server.origin}/flaky`)).then((r) => r.text())))
    expect(texts).toEqual(Array(10).fill('hello'))
    expect(server.count('/flaky')).toBe(3)
  })

  it('retry(), concurrencyLimit(): the backoff wait holds no slot', async () => {
    transport = new Transport()
    let wake!: () => void
    const waiting = new Promise<void>((resolve) => (wake = resolve))
    let entered!: () => void
    const inWait = new Promise<void>((resolve) => (entered = resolve))
    const client = compose(
      transport,
      chain(
        retry({
          sleep: () => {
            entered()
            return waiting
          },
        }),
        concurrencyLimit({ max: 1 }),
      ),
    )
    const flaky = client.roundTrip(new Request(`${server.origin}/flaky`))
    await inWait
    // The flaky call waits to retry; another request gets the only slot meanwhile.
    expect(await (await client.roundTrip(new Request(`${server.origin}/other`))).text()).toBe('hello')
    wake()
    expect(await (await flaky).text()).toBe('hello')
    expect(server.count('/flaky')).toBe(3)
  })
})
