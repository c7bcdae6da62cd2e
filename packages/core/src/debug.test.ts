import { describe, expect, it } from 'vitest'
import { debugOnce } from './index.js'

describe('debugOnce', () => {
  // The enabled path needs a fresh process (NODE_DEBUG is read at startup): fetch's debug test spawns one.
  it.skipIf(process.env['NODE_DEBUG'] !== undefined)('does not start a section NODE_DEBUG leaves off', () => {
    let started = 0
    debugOnce('core-test-off', () => started++)
    debugOnce('core-test-off', () => started++)
    expect(started).toBe(0)
  })
})
