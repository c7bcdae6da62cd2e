import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { Transport } from './transport.js'

const f = useFixture()

// A deterministic pseudo-random sequence, so that a failure can be replayed.
function random(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

describe('Transport under an abort storm', () => {
  it('keeps its accounting straight: every request settles, stats return to zero, no socket is left busy', async () => {
    const rnd = random(Number(process.env.STORM_SEED ?? 42))
    const server = f.serve(await startServer((req, res) => {
      const size = Number(new URL(req.url!, 'http://x').searchParams.get('size'))
      setTimeout(() => res.end(Buffer.alloc(size, 1)), Number(new URL(req.url!, 'http://x').searchParams.get('delay')))
    }))
    const transport = f.use(new Transport({ maxConnsPerHost: 4 }))
    const outcomes = { ok: 0, aborted: 0, cancelled: 0 }
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const controller = new AbortController()
        const size = rnd() < 0.3 ? 256 * 1024 : 100
        const delay = Math.floor(rnd() * 5)
        const abortAt = rnd()
        if (abortAt < 0.2) setTimeout(() => controller.abort(), Math.floor(rnd() * 8))
        try {
          const response = await transport.roundTrip(new Request(`${server.origin}/${i}?size=${size}&delay=${delay}`, { signal: controller.signal }))
          if (abortAt > 0.9) {
            await response.body?.cancel()
            outcomes.cancelled++
            return
          }
          const bytes = await response.arrayBuffer()
          expect(bytes.byteLength).toBe(size)
          outcomes.ok++
        } catch (error) {
          expect((error as Error).name).toBe('AbortError')
          outcomes.aborted++
        }
      }),
    )
    expect(outcomes.ok + outcomes.aborted + outcomes.cancelled).toBe(200)
    expect(outcomes.ok).toBeGreaterThan(100)
    const stats = transport.stats().total
    expect(stats).toMatchObject({ active: 0, waiting: 0, dialing: 0, holders: [] })
    expect(stats.idle).toBeLessThanOrEqual(4)
    // What the server still has open is exactly the idle pool.
    await server.closedCount(server.connections - stats.idle)
    expect(server.open.size).toBe(stats.idle)
  })
})
