import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { BLOCK, streamedBody, type StreamedBody } from './bodies.js'
import { gzipText } from './bodies.js'

/** wire joins a planned body the way sendStreamed writes it. */
function wire(body: StreamedBody): Buffer {
  const count = body.total / BLOCK
  const parts = [body.head]
  for (let i = 0; i < count; i++) parts.push(body.pieces[i % body.pieces.length]!)
  parts.push(body.tail)
  return Buffer.concat(parts)
}

function decoded(body: StreamedBody): Buffer {
  return Buffer.concat(Array.from({ length: body.total / BLOCK }, (_, i) => body.blocks[i % body.blocks.length]!))
}

describe('streamedBody', () => {
  it('joins separately deflated blocks into one valid gzip member, CRC and size included', () => {
    for (const texture of ['zeros', 'noisy', 'text'] as const) {
      const body = streamedBody('gzip', 10 * BLOCK, texture)
      const bytes = wire(body)
      expect(bytes.length).toBe(body.wireLength)
      // gunzipSync checks the trailer's CRC-32 and length.
      expect(gunzipSync(bytes).equals(decoded(body))).toBe(true)
    }
  })

  it('compresses zeros far and noisy bytes hardly at all', () => {
    expect(streamedBody('gzip', 64 * BLOCK, 'zeros').wireLength).toBeLessThan(64 * BLOCK / 100)
    expect(streamedBody('gzip', 16 * BLOCK, 'noisy').wireLength).toBeGreaterThan(16 * BLOCK * 0.85)
  })

  it('sends an identity body as its blocks', () => {
    const body = streamedBody('identity', 3 * BLOCK, 'text')
    expect(wire(body).equals(decoded(body))).toBe(true)
  })

  it('refuses a size that is not whole blocks', () => {
    expect(() => streamedBody('gzip', BLOCK + 1, 'zeros')).toThrow(/not a multiple/)
  })
})

describe('gzipText', () => {
  it('gives text and its gzip encoding', () => {
    const { plain, gzip } = gzipText(10_001)
    expect(plain.length).toBe(10_001)
    expect(gunzipSync(gzip).equals(plain)).toBe(true)
  })
})
