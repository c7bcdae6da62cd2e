import { describe, expect, it } from 'vitest'
import { resolveProtocols } from './h2-options.js'
import { proxyChoice } from './proxy.js'
import { Routes } from './route.js'

describe('Routes', () => {
  it("keeps a shared pool's list of cached origins bounded by the cache (a forwarding proxy serves every http: origin from one pool)", () => {
    const routes = new Routes(proxyChoice('http://127.0.0.1:9'), false, resolveProtocols(['http1']))
    const pools = new Set<unknown>()
    let longest = 0
    for (let i = 0; i < 10_000; i++) {
      const origin = `http://h${i}.test`
      const pool = routes.route(origin, `${origin}/`, `GET ${origin}/`)
      pools.add(pool)
      longest = Math.max(longest, pool.routes.length)
    }
    expect(pools.size).toBe(1)
    expect(longest).toBeLessThanOrEqual(4096)
  })
})
