import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The packages are ESM only; on Node >= 20.19 CommonJS code loads them with
// require() (require(esm)). This runs a CommonJS program against the builds.
describe('the packages from CommonJS', () => {
  it('load with require() and work', async () => {
    const program = `
      const { compose, roundTripper } = require('@roundtrip/core')
      const { Transport } = require('@roundtrip/transport')
      const { createFetch } = require('@roundtrip/fetch')
      const { leakTracker } = require('@roundtrip/leak-tracker')
      const tracker = leakTracker({ captureStack: false })
      const fetch = createFetch(compose(roundTripper(async (r) => new Response('from ' + r.url)), tracker))
      fetch('http://example.test/').then(async (res) => {
        console.log(typeof Transport, await res.text(), tracker.outstanding().length)
      })
    `
    const cwd = fileURLToPath(new URL('..', import.meta.url))
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--no-warnings', '-e', program], { cwd }, (error, out, err) => (error ? reject(new Error(err || error.message)) : resolve(out))),
    )
    expect(stdout.trim()).toBe('function from http://example.test/ 0')
  })
})
