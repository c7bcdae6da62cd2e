import { describe, expect, it } from 'vitest'
import { versions } from './versions.js'

describe('versions', () => {
  it('names Node and each measured package with its installed version', () => {
    const line = versions()
    expect(line).toContain(`Node ${process.version}`)
    expect(line).toMatch(/undici 7\.\d+\.\d+/)
    expect(line).toMatch(/node-fetch 3\.\d+\.\d+/)
    expect(line).toMatch(/@roundtrip\/transport \d+\.\d+\.\d+/)
  })
})
