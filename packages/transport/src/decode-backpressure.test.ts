import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startServer } from '../test/server.js'
import { Transport } from './transport.js'

const f = useFixture()
const MiB = 1024 * 1024

/** A server that sends `body` gzip-encoded as fast as the client takes it, and counts the bytes the kernel took from it. */
async function gzipServer(body: Buffer) {
  const encoded = gzipSync(body, { level: 1 })
  let socket: Socket | undefined
  let finished!: () => void
  const allSent = new Promise<void>((resolve) => (finished = resolve))
  const server = await startServer((_req, res) => {
    socket = res.socket!
    res.once('finish', finished)
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': encoded.length })
    let offset = 0
    const write = (): void => {
      while (offset < encoded.length) {
        const chunk = encoded.subarray(offset, offset + 64 * 1024)
        offset += chunk.length
        if (!res.write(chunk)) return void res.once('drain', write)
      }
      res.end()
    }
    write()
  })
  return Object.assign(f.serve(server), { sent: () => socket?.bytesWritten ?? 0, allSent })
}

describe('Transport: encoded bodies keep back-pressure and obey aborts', () => {
  it('a slow reader of a gzip body holds the server back: the client does not decode far ahead of it', async () => {
    // Random bytes do not compress: encoded and decoded sizes match, so the
    // server's progress is the client's decoded progress.
    const server = await gzipServer(randomBytes(24 * MiB))
    const transport = f.use(new Transport())
    const response = await transport.roundTrip(new Request(server.origin))
    const reader = response.body!.getReader()
    let read = 0
    while (read < 4 * MiB) {
      const { value } = await reader.read()
      read += value!.byteLength
      await new Promise((resolve) => setImmediate(resolve))
    }
    // Loopback socket buffers hold a few MiB; the client's own buffering must add little to that.
    const ahead = server.sent() - read
    expect(ahead).toBeLessThan(10 * MiB)
    await reader.cancel()
  })

  it('an abort after the whole encoded body arrived stops the decoded body with the signal reason', async () => {
    // 64 MiB of zeros is 64 KiB gzip-encoded: it all arrives at once, long before the reader is done.
    const server = await gzipServer(Buffer.alloc(64 * MiB))
    const transport = f.use(new Transport())
    const controller = new AbortController()
    const response = await transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    const reader = response.body!.getReader()
    let read = 0
    while (read < 5 * MiB) read += (await reader.read()).value!.byteLength
    await server.allSent
    controller.abort()
    let error: unknown
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        read += value.byteLength
      }
    } catch (e) {
      error = e
    }
    expect(error).toBe(controller.signal.reason)
    expect(read).toBeLessThan(16 * MiB)
  })
})
