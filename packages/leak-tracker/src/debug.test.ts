import { afterEach, describe, expect, it } from 'vitest'
import { SPAWN_TEST_TIMEOUT, runNode } from '../../../test/run-node.js'
import { startServer, type TestServer } from '../test/server.js'
import { channels, leakTracker } from './index.js'

let server: TestServer | undefined
afterEach(() => server?.close())

// A body that never ends, left unread past maxAge, then cancelled.
const client = (origin: string): string => `
  import { compose } from '@roundtrip/core'
  import { Transport } from '@roundtrip/transport'
  import { leakTracker, channels } from '@roundtrip/leak-tracker'
  const transport = new Transport()
  let reported
  const leaked = new Promise((resolve) => (reported = resolve))
  const tracker = leakTracker({ maxAge: 50, onLeak: reported })
  const rt = compose(transport, tracker)
  console.error('subscribed=' + channels.leak.hasSubscribers)
  const response = await rt.roundTrip(new Request('${origin}/slow'))
  await leaked
  await response.body.cancel()
  tracker.dispose()
  await transport.close()
`

describe('NODE_DEBUG=roundtrip:leak', () => {
  it('prints one line per leak found; NODE_DEBUG=roundtrip turns every section on, the section name first', async () => {
    server = await startServer((_req, res) => void res.write('x'))
    const stderr = await runNode(client(server.origin), 'roundtrip')
    expect(stderr).toContain('subscribed=true')
    expect(stderr).toMatch(
      new RegExp(`^ROUNDTRIP \\d+: leak aged leak: the response to GET ${server.origin}/slow \\(200\\) still has its body open \\d+ ms after it arrived; it held a connection`, 'm'),
    )
    expect(stderr).toMatch(new RegExp(`^ROUNDTRIP \\d+: pool dial ${server.origin}$`, 'm'))
  }, SPAWN_TEST_TIMEOUT)

  it.skipIf(process.env['NODE_DEBUG'] !== undefined)('subscribes to nothing when NODE_DEBUG is unset', () => {
    leakTracker().dispose()
    expect(channels.leak.hasSubscribers).toBe(false)
  })
})
