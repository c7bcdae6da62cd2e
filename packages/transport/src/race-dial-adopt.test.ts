import { connect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { dispatchGet, startPortServer } from '../test/dispatch.js'
import { deferred } from '../test/util.js'
import { Transport } from './transport.js'

// raceDial's "adopt" (after-turn.ts's TurnQueue): the conn a request waits
// for, released in this turn, is found closed at the end of the turn, so the
// request waits for the dial raced against that wait. A TCP socket's close is
// seen only in the close phase, after the end of the turn; a stream from a
// user's `dial` (a tunnel) closes on the next tick, before it: these tests
// dial the first conn through such a tunnel over a loopback socket. Without
// the adoption the request would take the raced dial as a spare and get a
// dial of its own when that one fails (3 dials): the failing case tells the
// two apart (checked: it fails with the adoption skipped).

const f = useFixture()

/** A stream over a loopback socket, as a user's `dial` returns for a tunnel: its 'close' comes on the next tick of a destroy(). */
function tunnel(socket: Socket): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback)
    },
    final(callback) {
      socket.end(callback)
    },
    destroy(error, callback) {
      socket.destroy()
      callback(error)
    },
  })
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause()
  })
  socket.on('end', () => stream.push(null))
  socket.on('error', (error) => stream.destroy(error))
  return stream
}

/** A GET through the undici entry point (`toDispatcher`'s direct path); resolves with its body, or the code of its error. */
function dispatch(transport: Transport, url: string): Promise<string> {
  return dispatchGet(transport, url).catch((error: Error & { code?: string }) => `error ${error.code ?? error.message}`)
}

describe('Transport raceDial: a conn found closed at the end of the turn (the undici dispatch path)', () => {
  it.each([
    ['serves it', true],
    ['fails: the request fails with the dial’s error', false],
  ])('the request waits for the raced dial, which %s', async (_outcome, dialOk) => {
    const server = f.serve(await startPortServer())
    const tunnels: Duplex[] = []
    const gate = deferred()
    let dials = 0
    const dial = async (): Promise<Duplex> => {
      const n = ++dials
      if (n === 1) {
        const stream = tunnel(connect(server.port, '127.0.0.1'))
        tunnels.push(stream)
        return stream
      }
      // The raced dial waits for the test, then connects or is refused.
      await gate.promise
      if (!dialOk) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
      return connect(server.port, '127.0.0.1')
    }
    const transport = f.use(new Transport({ dial }))
    const first = await dispatch(transport, `${server.origin}/first`)
    // Sent as the first ends: it waits for the conn released in this turn, and a dial races that wait.
    const pending = dispatch(transport, `${server.origin}/second`)
    expect(transport.stats().total.dialing).toBe(1)
    // The tunnel closes now; the conn is seen closed on the next tick, before the turn ends.
    tunnels[0]!.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    // No third dial: the request adopted the raced one and waits in the queue for it.
    expect(transport.stats().total).toMatchObject({ dials: 2, dialing: 1, waiting: 1 })
    gate.resolve()
    const second = await pending
    if (dialOk) expect(second).not.toBe(first)
    else expect(second).toBe('error RT_CONNECT_REFUSED')
    expect(transport.stats().total).toMatchObject({ dials: 2, active: 0, idle: dialOk ? 1 : 0, waiting: 0, dialing: 0 })
  })
})
