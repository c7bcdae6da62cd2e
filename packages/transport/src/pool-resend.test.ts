import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { direct } from '../test/util.js'
import { Transport } from './transport.js'

// A request sent again because its conn failed under it (retry-policy.ts's
// shouldResend) keeps its place in the wait queue: it arrived before the
// requests queued behind it, and lost its conn through no doing of its own.
// Go's getConn puts it at the back (its retry loop queues anew); undici keeps
// such a request at its place in its client's queue, and OkHttp's dispatcher
// counts a call against its per-host limit until it ends, retries included.

const f = useFixture()

type Send = (transport: Transport, url: string) => Promise<string>

const viaRoundTrip: Send = async (transport, url) => (await transport.roundTrip(new Request(url))).text()
/** Node's fetch over the Transport's undici entry point (the direct path of `toDispatcher`). */
const viaDispatch: Send = async (transport, url) => (await fetch(url, direct(transport))).text()

/** Resolves after the current turn (and the next) of the event loop. */
function nextTurns(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

describe.each([
  ['roundTrip', viaRoundTrip],
  ['the undici dispatch path', viaDispatch],
] as const)('Transport wait queue, a request sent again (%s)', (_path, send) => {
  it('at maxConnsPerHost, takes the first conn that comes before the requests that queued behind it', async () => {
    const arrived: string[] = []
    let cut = true
    const server = f.serve(
      await startServer((req, res) => {
        arrived.push(req.url!)
        // The server closes the kept-alive conn as /b arrives: /b is sent again on a new conn.
        if (req.url === '/b' && cut) {
          cut = false
          return void req.socket.destroy()
        }
        res.end(req.url)
      }),
    )
    const transport = f.use(new Transport({ maxConnsPerHost: 1, raceDial: false }))
    expect(await send(transport, `${server.origin}/a`)).toBe('/a')
    await nextTurns()
    const b = send(transport, `${server.origin}/b`)
    const q1 = send(transport, `${server.origin}/q1`)
    const q2 = send(transport, `${server.origin}/q2`)
    expect(await Promise.all([b, q1, q2])).toEqual(['/b', '/q1', '/q2'])
    expect(arrived).toEqual(['/a', '/b', '/b', '/q1', '/q2'])
    expect(server.connections).toBe(2)
    expect(transport.stats().total).toMatchObject({ dials: 2, requests: 5, active: 0, idle: 1, waiting: 0, dialing: 0 })
  })
})
