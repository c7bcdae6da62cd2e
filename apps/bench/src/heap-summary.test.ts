import { describe, expect, it } from 'vitest'
import { origin, render, summarize, type ProfileNode } from './heap-summary.js'

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
})
