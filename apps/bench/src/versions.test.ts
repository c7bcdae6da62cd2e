import { describe, expect, it } from 'vitest'
import { versions } from './versions.js'

describe('versions', () => {
  it('names Node and each measured package with its installed version', () => {
    const line = versions()
    expect(line).toContain(`clients on Node ${process.version} (its fetch: undici ${process.versions['undici']})`)
    expect(line).not.toContain('server on')
    expect(line).toMatch(/undici 7\.\d+\.\d+/)
    expect(line).toMatch(/node-fetch 3\.\d+\.\d+/)
    expect(line).toMatch(/@roundtrip\/transport \d+\.\d+\.\d+/)
  })

  it("names the server's Node when the clients run on another", () => {
    expect(versions({ version: 'v99.1.2', undici: '9.9.9' })).toContain(`clients on Node v99.1.2 (its fetch: undici 9.9.9), server on Node ${process.version};`)
  })
})
