// Issue 18 item 2: a gzip body must keep back-pressure (the client may not
// decode far ahead of a slow reader: `bodyHighWaterMark` bounds decoded
// output too) and an abort must stop it until the reader has the last byte,
// even when every compressed byte has already arrived.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Size } from '../args.js'
import { sendStreamed, streamedBody, type BodyProgress, type StreamedBody } from '../bodies.js'
import type { ClientFactory, SoakClient } from '../clients.js'
import { mib, type Row } from '../row.js'
import { startScriptedServer, type Loopback } from '../servers.js'
import { eachClient, faultRow, Hang, readWithin } from './common.js'

/** A server that sends whichever planned body the path names, and tells how far it has got. */
async function bodyServer(bodies: Record<string, StreamedBody>): Promise<Loopback & { progress(): number }> {
  let current: BodyProgress | undefined
  const server = await startScriptedServer((socket, request) => {
    current = sendStreamed(socket, bodies[request.path.slice(1)]!)
  })
  return Object.assign(server, { progress: () => current?.decodedSent() ?? 0 })
}

/**
 * slowRead reads a body pausing 1 ms after every 64 KiB, and returns the
 * most decoded bytes the server had handed to the kernel beyond what the
 * reader had read: the client's read-ahead (its buffers and the kernel's).
 */
async function slowRead(client: SoakClient, server: Loopback & { progress(): number }, path: string): Promise<{ ahead: number; read: number }> {
  const response = await client.fetch(`${server.origin}/${path}`)
  const reader = response.body!.getReader()
  let read = 0
  let ahead = 0
  let sincePause = 0
  for (let chunk = await readWithin(reader, 10_000); !chunk.done; chunk = await readWithin(reader, 10_000)) {
    read += chunk.value.byteLength
    sincePause += chunk.value.byteLength
    ahead = Math.max(ahead, server.progress() - read)
    if (sincePause >= 64 * 1024) {
      sincePause = 0
      await sleep(1)
    }
  }
  return { ahead, read }
}

/** slowGzipReader: the read-ahead on a gzip body against the same on the identity body. */
export async function slowGzipReader(size: Size, clients: readonly ClientFactory[]): Promise<Row[]> {
  // Noisy bytes hardly compress, so a wire byte stands for about one decoded
  // byte in both encodings: kernel buffers weigh the same, and what differs is the client's own buffering.
  const server = await bodyServer({
    gzip: streamedBody('gzip', size.slowBodyBytes, 'noisy'),
    identity: streamedBody('identity', size.slowBodyBytes, 'noisy'),
  })
  try {
    return await eachClient(clients, async (client) => {
      // Identity before and after: the kernel's buffers on a reused conn grow with what it carried (TCP's
      // receive-window autotuning), so the gzip read, on the conn the first identity read warmed, is
      // compared with the larger of the two identity read-aheads around it.
      const before = await slowRead(client, server, 'identity')
      const gzip = await slowRead(client, server, 'gzip')
      const after = await slowRead(client, server, 'identity')
      const identity = Math.max(before.ahead, after.ahead)
      // Allowed: the identity read-ahead (kernel buffers, the body's high-water mark) plus 2 MiB of decoder and zlib buffers.
      const ok = gzip.read === size.slowBodyBytes && gzip.ahead <= identity + 2 * 1024 * 1024
      return faultRow(
        client,
        2,
        'slow reader of a gzip body',
        `${mib(size.slowBodyBytes)} read 64 KiB per ms: client ran ${mib(gzip.ahead)} ahead of the reader on gzip, ${mib(before.ahead)} and ${mib(after.ahead)} on identity (before, after)`,
        'gzip ahead ≤ identity ahead + 2 MiB',
        ok,
      )
    })
  } finally {
    await server.close()
  }
}

/** abortLargeGzip: abort a large gzip body (of zeros, so the compressed body arrives at once) part-way and count what still comes. */
export async function abortLargeGzip(size: Size, clients: readonly ClientFactory[]): Promise<Row[]> {
  const zeros = streamedBody('gzip', size.abortGzipBytes, 'zeros')
  const server = await bodyServer({ zeros })
  // The reading after the abort stops at this bound: the figure says "at least".
  const bound = 32 * 1024 * 1024
  try {
    return await eachClient(clients, async (client) => {
      const controller = new AbortController()
      const reason = new Error('soak abort')
      const response = await client.fetch(`${server.origin}/zeros`, { signal: controller.signal })
      const reader = response.body!.getReader()
      let read = 0
      let after = 0
      let end = 'ended normally'
      const started = performance.now()
      try {
        for (let chunk = await readWithin(reader, 5_000); !chunk.done; chunk = await readWithin(reader, 5_000)) {
          if (controller.signal.aborted) after += chunk.value.byteLength
          read += chunk.value.byteLength
          if (read >= size.abortGzipAt && !controller.signal.aborted) controller.abort(reason)
          if (after >= bound || performance.now() - started > 5_000) {
            end = 'still delivering when the soak stopped reading'
            await reader.cancel().catch(() => {})
            break
          }
        }
      } catch (error) {
        if (error instanceof Hang) {
          // The stream is stuck; closing the server's socket below ends it.
          end = `then ${error.message}: the reader hangs`
          void reader.cancel().catch(() => {})
        } else end = error === reason ? 'then rejected with signal.reason' : `then rejected with something else than signal.reason (${String(error)})`
      }
      const ok = after === 0 && end === 'then rejected with signal.reason'
      return faultRow(
        client,
        2,
        'abort part-way through a gzip body',
        `${mib(size.abortGzipBytes)} body (${mib(zeros.wireLength)} on the wire), aborted at ${mib(size.abortGzipAt)}: ${after.toLocaleString('en')} bytes delivered after the abort, ${end}`,
        '0 bytes after the abort, rejected with signal.reason',
        ok,
      )
    })
  } finally {
    await server.close()
  }
}
