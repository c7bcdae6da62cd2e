import type { IncomingMessage, ServerResponse } from 'node:http'
import { roundTripper } from '@roundtrip/core'
import { afterEach, describe, expect, it } from 'vitest'
import { channels, createFetch } from './index.js'
import { listen, type Origin } from '../test/servers.js'
import { SPAWN_TEST_TIMEOUT, runNode } from '../../../test/run-node.js'

let origin: Origin | undefined
afterEach(() => origin?.close())

/** /old answers 303, /new 200. */
function redirecting(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.startsWith('/old')) res.writeHead(303, { location: '/new' }).end()
  else res.end('new')
}

const client = (url: string): string => `
  import { createFetch, channels, defaultTransport } from '@roundtrip/fetch'
  // A second fetch function must not subscribe the debug lines again.
  createFetch()
  const fetch = createFetch()
  console.error('subscribed=' + channels.redirect.hasSubscribers)
  const response = await fetch('${url}/old?q=1', { method: 'POST', body: 'x' })
  console.error('status=' + response.status + ' ' + await response.text())
  await defaultTransport().close()
`

describe('NODE_DEBUG=roundtrip:fetch', () => {
  it('prints one line per redirect followed', async () => {
    origin = await listen(redirecting)
    const stderr = await runNode(client(origin.url), 'roundtrip:fetch,roundtrip:nothing')
    expect(stderr).toContain('subscribed=true')
    const lines = stderr.match(new RegExp(`^ROUNDTRIP:FETCH \\d+: redirect 303 ${origin.url}/old\\?q=1 → GET ${origin.url}/new$`, 'gm'))
    expect(lines).toHaveLength(1)
    expect(stderr).toContain('status=200 new')
  }, SPAWN_TEST_TIMEOUT)

  it.skipIf(process.env['NODE_DEBUG'] !== undefined)('subscribes to nothing when NODE_DEBUG is unset', () => {
    createFetch(roundTripper(() => Promise.reject(new Error('unused'))))
    expect(channels.redirect.hasSubscribers).toBe(false)
  })
})
