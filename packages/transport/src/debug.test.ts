import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startRawServer, type TestServer } from '../test/server.js'
import { SPAWN_TEST_TIMEOUT, runNode } from '../../../test/run-node.js'

const f = useFixture()

/** Answers the first request on a connection and drops the connection on the second, unanswered. */
function dropsSecond(): Promise<TestServer> {
  return startRawServer((socket) => {
    let requests = 0
    socket.on('data', (data) => {
      for (let n = data.toString('latin1').split('\r\n\r\n').length - 1; n > 0; n--) {
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
        else socket.destroy()
      }
    })
  })
}

// The child's client: a dial, a reuse that meets a stale conn and is retried,
// two requests at once under maxConnsPerHost 1 (one waits), then close.
const client = (origin: string): string => `
  import { Transport, channels } from '@roundtrip/transport'
  const transport = new Transport({ maxConnsPerHost: 1 })
  console.error('subscribed=' + channels.gotConn.hasSubscribers)
  await (await transport.roundTrip(new Request('${origin}/'))).text()
  await (await transport.roundTrip(new Request('${origin}/'))).text()
  await Promise.all([transport.roundTrip(new Request('${origin}/a')), transport.roundTrip(new Request('${origin}/b'))].map((p) => p.then((r) => r.text(), () => {})))
  await transport.close()
`

describe('NODE_DEBUG=roundtrip:pool', () => {
  it('prints one line per dial, reuse, wait, stale retry and close', async () => {
    const server = f.serve(await dropsSecond())
    const key = `http://127.0.0.1:${server.port}`
    const stderr = await runNode(client(server.origin), 'roundtrip:pool')
    const lines = stderr.split('\n').filter((l) => l.startsWith('ROUNDTRIP:POOL '))
    const text = lines.map((l) => l.replace(/^ROUNDTRIP:POOL \d+: /, ''))
    expect(stderr).toContain('subscribed=true')
    expect(text.slice(0, 5)).toEqual([`dial ${key}`, `dialed ${key}`, `use new conn ${key}`, `conn idle ${key} after 1 requests`, `reuse conn ${key} (was idle)`])
    expect(text).toContainEqual(expect.stringMatching(new RegExp(`^conn closed ${key}: `)))
    expect(text).toContainEqual(expect.stringMatching(new RegExp(`^retry GET ${key}/ on another conn: the reused conn failed \\(RT_SOCKET_CLOSED: `)))
    expect(text).toContain(`wait for a conn ${key} (1 waiting)`)
  }, SPAWN_TEST_TIMEOUT)

  it('subscribes to nothing and prints nothing when the section is off', async () => {
    const server = f.serve(await dropsSecond())
    // Another roundtrip section on: this one stays off (unset NODE_DEBUG takes the same path).
    const stderr = await runNode(client(server.origin), 'roundtrip:fetch')
    expect(stderr.trim()).toBe('subscribed=false')
  }, SPAWN_TEST_TIMEOUT)
})
