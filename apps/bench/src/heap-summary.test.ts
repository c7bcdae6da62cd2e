import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { origin, ours, readProfiles, render, summarize, table, type ProfileNode } from './heap-summary.js'

const frame = (functionName: string, url: string, lineNumber: number, selfSize: number, children: ProfileNode[] = []): ProfileNode => ({
  callFrame: { functionName, url, lineNumber },
  selfSize,
  children,
})

describe('heap summary', () => {
  it('tells our packages, both undicis, Node and V8 apart', () => {
    expect(origin('file:///work/x/packages/transport/dist/headers.js')).toBe('@roundtrip/transport')
    expect(origin('file:///work/x/node_modules/undici/lib/core/util.js')).toBe('undici (npm)')
    expect(origin('node:internal/deps/undici/undici')).toBe("undici (Node's)")
    expect(origin('node:net')).toBe('node')
    expect(origin('')).toBe('(V8: native, GC roots, compiler)')
    expect(origin('file:///work/x/apps/bench/dist/measure.js')).toBe('bench harness')
  })

  it('adds up self sizes by function and by origin, per request, largest first', () => {
    const headers = 'file:///r/packages/transport/dist/headers.js'
    const head = frame('(root)', '', -1, 0, [
      frame('toHeaders', headers, 9, 3000, [frame('set', 'node:internal/deps/undici/undici', 99, 1000)]),
      // The same function reached by another path is one line.
      frame('main', 'file:///r/apps/bench/dist/measure.js', 0, 500, [frame('toHeaders', headers, 9, 1000)]),
      frame('(garbage collector)', '', -1, 300),
    ])
    const summary = summarize(head, 10)
    expect(summary.bytesPerRequest).toBe(580)
    expect(summary.byFunction).toEqual([
      { name: 'toHeaders packages/transport/dist/headers.js:10', bytesPerRequest: 400 },
      { name: 'set node:internal/deps/undici/undici:100', bytesPerRequest: 100 },
      { name: 'main apps/bench/dist/measure.js:1', bytesPerRequest: 50 },
      { name: '(garbage collector)', bytesPerRequest: 30 },
    ])
    expect(summary.byOrigin[0]).toEqual({ name: '@roundtrip/transport', bytesPerRequest: 400 })
    const text = render('transport', { requests: 10, node: 'v24.22.3', samplingInterval: 4096 }, summary, 1)
    expect(text).toContain('### transport (Node v24.22.3, 10 requests, sampled every 4096 B)')
    expect(text).toContain('- allocated per request: 580 B')
    expect(text).toContain('  - 400 B: toHeaders packages/transport/dist/headers.js:10')
    expect(text).not.toContain('set node:')
    const kept = render('transport', { requests: 10, node: 'v24.22.3', samplingInterval: 4096, survivors: true }, summary, 1)
    expect(kept).toContain('### transport, survivors (Node v24.22.3')
    expect(kept).toContain('- outlived a young-generation GC per request: 580 B')
  })

  it('puts a client\'s allocated and surviving bytes per request, in all and of our packages, in one row per client and Node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'heap-summary-'))
    try {
      const ours1 = 'file:///r/packages/transport/dist/exchange.js'
      const ours2 = 'file:///r/packages/core/dist/body.js'
      const write = async (sub: string, id: string, survivors: boolean, requests: number, head: ProfileNode): Promise<string> => {
        const at = join(dir, sub)
        await mkdir(at, { recursive: true })
        await writeFile(join(at, `${id}.heapprofile`), JSON.stringify({ head }))
        await writeFile(join(at, `${id}.meta.json`), JSON.stringify({ requests, node: 'v24.22.3', samplingInterval: 4096, survivors }))
        return at
      }
      const all = await write('all', 'transport', false, 10, frame('(root)', '', -1, 0, [frame('onHead', ours1, 1, 2000), frame('createBody', ours2, 1, 1000), frame('Map', '', -1, 7000)]))
      await write('all', 'undici-request', false, 4, frame('(root)', '', -1, 0, [frame('request', 'file:///r/node_modules/undici/lib/api/api-request.js', 1, 4000)]))
      const kept = await write('kept', 'transport', true, 20, frame('(root)', '', -1, 0, [frame('onHead', ours1, 1, 600), frame('Map', '', -1, 1400)]))
      const profiles = await readProfiles([all, kept])
      expect(profiles.map((p) => `${p.id} ${p.meta.survivors}`)).toEqual(['transport false', 'undici-request false', 'transport true'])
      expect(ours(profiles[0]!.summary)).toBe(300)
      const lines = table(profiles).trim().split('\n')
      expect(lines).toHaveLength(4)
      expect(lines[2]).toBe('| transport | v24.22.3 | 1000 | 300 | 100 | 30 | 10 / 20 |')
      expect(lines[3]).toBe('| undici-request | v24.22.3 | 1000 | 0 | – | – | 4 |')
      await expect(readProfiles([join(dir, 'none')])).rejects.toThrow()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
