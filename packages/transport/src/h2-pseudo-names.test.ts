import { request as undiciRequest } from 'undici'
import { describe, expect, it } from 'vitest'
import { Direct } from '../test/dispatch.js'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startServer } from '../test/server.js'
import { Transport } from './transport.js'

// A header name starting with ':' in an undici dispatch is not a header: over
// HTTP/1.1 undici refuses it before sending (`invalid header key`, which the
// direct path gives as RT_INVALID_REQUEST); over HTTP/2 it must not be joined
// into the pseudo-header of that name (sending `:method: GET, DELETE`), but
// refused the same way, before anything is sent.

const f = useFixture()

/** How `undici.request` with `headers` ends over `transport`: `resolved <body>` or `<code>: <message>` (the origin written ORIGIN). */
function outcome(transport: Transport, origin: string, headers: string[]): Promise<string> {
  return undiciRequest(origin, { dispatcher: new Direct(transport), method: 'POST', body: 'x', headers }).then(
    async (response) => `resolved ${await response.body.text()}`,
    (error: Error & { code?: string }) => `${error.code}: ${error.message.replace(origin, 'ORIGIN')}`,
  )
}

describe('Transport: a pseudo-header name in an undici dispatch over HTTP/2', () => {
  it('is refused before sending, as over HTTP/1.1', async () => {
    let h1Requests = 0
    let h2Requests = 0
    const h1 = f.serve(await startServer((req, res) => (h1Requests++, res.end(`${req.method} ${req.url}`))))
    const h2 = f.serve(await startH2Server((req, res) => (h2Requests++, res.end(`${req.method} ${req.url}`))))
    const overH1 = f.use(new Transport())
    const overH2 = f.use(new Transport({ protocols: ['h2c'] }))
    for (const headers of [[':method', 'DELETE'], [':path', '/evil'], [':authority', 'elsewhere'], ['x-ok', '1', ':scheme', 'https']]) {
      const refused = await outcome(overH1, h1.origin, headers)
      expect(refused).toBe('RT_INVALID_REQUEST: cannot send request: invalid header key (POST ORIGIN/)')
      expect(await outcome(overH2, h2.origin, headers)).toBe(refused)
    }
    expect([h1Requests, h2Requests]).toEqual([0, 0])
    // Both still send what they may.
    expect(await outcome(overH1, h1.origin, ['x-ok', '1'])).toBe('resolved POST /')
    expect(await outcome(overH2, h2.origin, ['x-ok', '1'])).toBe('resolved POST /')
    expect(overH2.stats().total.dials).toBe(1)
  })
})
