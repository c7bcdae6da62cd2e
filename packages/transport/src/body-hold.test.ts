import { gzipSync } from 'node:zlib'
import { bodyHold, observeBody, type BodyListener, type BodyOutcome } from '@roundtrip/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startServer } from '../test/server.js'
import { certificate } from '../test/tls.js'
import { Transport } from './transport.js'

const f = useFixture()
const MiB = 1024 * 1024

/** A body listener that resolves `released` on the producer's release, and writes down the outcome. */
class Watch implements BodyListener {
  outcome: BodyOutcome | undefined
  readonly released: Promise<void>
  #release!: () => void
  constructor() {
    this.released = new Promise((resolve) => (this.#release = resolve))
  }
  bodySettled(outcome: BodyOutcome): void {
    this.outcome = outcome
  }
  bodyReleased(): void {
    this.#release()
  }
}

/** Resolves once the release of what `response`'s body holds is known: at once if it already was. */
function released(response: Response): Promise<void> {
  if (bodyHold(response)?.released === true) return Promise.resolve()
  const watch = new Watch()
  observeBody(response, watch)
  return watch.released
}

describe('Transport: the body declares the connection it holds (core bodyHold)', () => {
  it('an unread gzip body whose encoded bytes all arrived is released before it is read, though its decoder has not finished', async () => {
    // 2 MiB of zeros is 2 KiB gzip-encoded: it arrives whole, and inflates far past the body's queue.
    const encoded = gzipSync(Buffer.alloc(2 * MiB))
    const server = f.serve(await startServer((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': encoded.length }).end(encoded)))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(`${server.origin}/zeros`))
    const watch = new Watch()
    observeBody(response, watch)
    expect(bodyHold(response)?.pool).toBe(server.origin)
    await released(response)
    expect(bodyHold(response)).toEqual({ pool: server.origin, released: true, reused: false })
    // Nobody read: the body has not ended (the decoder waits for the reader), and the connection is idle in the pool.
    expect(watch.outcome).toBeUndefined()
    expect(response.bodyUsed).toBe(false)
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 1 })
    expect((await response.arrayBuffer()).byteLength).toBe(2 * MiB)
    expect(watch.outcome).toBe('end')
  })

  it('an unread chunked body still streaming pins its connection until it is cancelled', async () => {
    const server = f.serve(
      await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('first chunk; the rest never comes')
      }),
    )
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(`${server.origin}/stream`))
    const watch = new Watch()
    observeBody(response, watch)
    expect(bodyHold(response)).toEqual({ pool: server.origin, released: false, reused: false })
    expect(transport.stats().total).toMatchObject({ active: 1, idle: 0 })
    await response.body!.cancel()
    await server.closedCount(1)
    // The body settled first (cancel), then the Transport closed the connection: released, without a bodyReleased call.
    expect(watch.outcome).toBe('cancel')
    expect(bodyHold(response)).toEqual({ pool: server.origin, released: true, reused: false })
    expect(transport.stats().total).toMatchObject({ active: 0, idle: 0 })
  })

  it('a body read to the end was released before it ended; the next body on its connection says reused', async () => {
    const server = f.serve(await startServer((_req, res) => res.end('small')))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const events: string[] = []
    observeBody(response, { bodySettled: (outcome: BodyOutcome) => events.push(outcome), bodyReleased: () => events.push('released') })
    await released(response)
    // Released (the whole body arrived) while still unread: the end comes after.
    expect(bodyHold(response)).toEqual({ pool: server.origin, released: true, reused: false })
    expect(events).not.toContain('end')
    expect(await response.text()).toBe('small')
    expect(bodyHold(response)).toEqual({ pool: server.origin, released: true, reused: false })
    expect(events.at(-1)).toBe('end')
    // The next request takes the same connection: its body says so.
    const again = await transport.roundTrip(new Request(server.origin))
    expect(bodyHold(again)).toMatchObject({ pool: server.origin, reused: true })
    expect(await again.text()).toBe('small')
  })

  describe('over HTTP/2: a body holds a stream of its conn', () => {
    let pem: { key: string; cert: string }
    beforeAll(async () => {
      pem = await certificate()
    })

    it('an unread streaming body holds its stream until cancelled; a small one is released unread; both name the pool, the second on the conn reused', async () => {
      const server = f.serve(
        await startH2Server(
          (req, res) => {
            if (req.url === '/small') return void res.end('small')
            res.write('first chunk; the rest never comes')
          },
          { pem },
        ),
      )
      const transport = f.use(new Transport({ tls: { ca: pem.cert } }))
      const streaming = await transport.roundTrip(new Request(`${server.origin}/stream`))
      const small = await transport.roundTrip(new Request(`${server.origin}/small`))
      expect(bodyHold(streaming)).toEqual({ pool: server.origin, released: false, reused: false })
      await released(small)
      expect(bodyHold(small)).toEqual({ pool: server.origin, released: true, reused: true })
      expect(small.bodyUsed).toBe(false)
      expect(transport.stats().total).toMatchObject({ streams: 1 })
      const watch = new Watch()
      observeBody(streaming, watch)
      await streaming.body!.cancel()
      expect(watch.outcome).toBe('cancel')
      expect(bodyHold(streaming)).toEqual({ pool: server.origin, released: true, reused: false })
      expect(transport.stats().total).toMatchObject({ streams: 0 })
      expect(await small.text()).toBe('small')
    })
  })
})
