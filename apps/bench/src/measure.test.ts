import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUndiciRequestClient } from './clients/undici-request.js'
import { measure, WARMUP_BLOCK, type RunSpec } from './measure.js'
import { listenAll, type Listening } from './server.js'

let servers: Listening
let spec: RunSpec

beforeAll(async () => {
  servers = await listenAll('raw', 2, 11)
  spec = { urls: servers.ports.map((p) => `http://127.0.0.1:${p}/`), concurrency: 4, bodyBytes: 11, warmupMs: 10, durationMs: 50 }
})

afterAll(() => servers.close())

describe('measure', () => {
  it('counts completed requests with their latencies, CPU and RSS', async () => {
    const client = createUndiciRequestClient()
    const result = await measure(client, spec).finally(() => client.close())
    expect(result.errors).toBe(0)
    expect(result.firstError).toBeUndefined()
    expect(result.requests).toBeGreaterThan(0)
    expect(result.rps).toBeGreaterThan(0)
    expect(result.p50).toBeGreaterThan(0)
    expect(result.p99).toBeGreaterThanOrEqual(result.p50)
    expect(result.cpuUsPerRequest).toBeGreaterThan(0)
    expect(result.rssMb).toBeGreaterThan(0)
  })

  it('warms up until both its time and its request count are reached, with the CPU per request of each block', async () => {
    const client = createUndiciRequestClient()
    const result = await measure(client, { ...spec, warmupMs: 0, warmupRequests: 2 * WARMUP_BLOCK + 1 }).finally(() => client.close())
    expect(result.warmup.requests).toBeGreaterThanOrEqual(2 * WARMUP_BLOCK + 1)
    expect(result.warmup.cpuUsPerRequest).toHaveLength(Math.floor(result.warmup.requests / WARMUP_BLOCK))
    expect(result.warmup.cpuUsPerRequest.every((us) => us > 0)).toBe(true)
    const timed = createUndiciRequestClient()
    const short = await measure(timed, { ...spec, warmupMs: 30 }).finally(() => timed.close())
    expect(short.warmup.ms).toBeGreaterThanOrEqual(30)
    expect(short.warmup.requests).toBeGreaterThan(0)
  })

  it('counts a body of the wrong size as an error', async () => {
    const client = createUndiciRequestClient()
    const result = await measure(client, { ...spec, bodyBytes: 12 }).finally(() => client.close())
    expect(result.requests).toBe(0)
    expect(result.errors).toBeGreaterThan(0)
    expect(result.firstError).toContain('short body: 11 of 12 bytes')
  })

  it('counts a failed request as an error and goes on', async () => {
    const client = createUndiciRequestClient()
    const urls = [...spec.urls, 'http://127.0.0.1:1/']
    const result = await measure(client, { ...spec, urls }).finally(() => client.close())
    expect(result.requests).toBeGreaterThan(0)
    expect(result.errors).toBeGreaterThan(0)
    expect(result.firstError).toContain('ECONNREFUSED')
  })
})
