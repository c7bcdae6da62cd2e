// Response bodies for the servers: identity or gzip, built from 64 KiB
// blocks so that a body of any size streams in constant memory and the
// server knows, for every wire byte it has handed to the kernel, how many
// decoded bytes that stands for.
import type { Socket } from 'node:net'
import { crc32, deflateRawSync, constants, gzipSync } from 'node:zlib'
import { responseHead } from './servers.js'

/** BLOCK is the decoded size of one block of a streamed body. */
export const BLOCK = 64 * 1024

/**
 * Texture: `zeros` compress about 1000:1 (a small gzip body that decodes to
 * a huge one), `noisy` bytes hardly compress (gzip bytes on the wire stand
 * for about as many decoded bytes, so back-pressure shows the same in both
 * encodings), `text` compresses about 2:1.
 */
export type Texture = 'zeros' | 'noisy' | 'text'

function randomBlock(texture: Texture): Buffer {
  if (texture === 'zeros') return Buffer.alloc(BLOCK)
  const bytes = Buffer.allocUnsafe(BLOCK)
  for (let i = 0; i < BLOCK; i++) bytes[i] = Math.floor(Math.random() * 128)
  if (texture === 'noisy') return bytes
  return Buffer.from(bytes.toString('hex').slice(0, BLOCK), 'latin1')
}

// A gzip member is a header, deflate blocks, an empty final block, CRC-32 and
// size. Each block is deflated alone and ends with a full flush, so the
// pieces join into one valid deflate stream in any order and number.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
const FINAL_BLOCK = deflateRawSync(Buffer.alloc(0))

/** StreamedBody is a body of `total` decoded bytes, cycling through a few distinct blocks. */
export interface StreamedBody {
  encoding: 'gzip' | 'identity'
  total: number
  /** Bytes on the wire (the content-length). */
  wireLength: number
  head: Buffer
  /** The wire pieces, cycled through for each block in turn. */
  pieces: Buffer[]
  tail: Buffer
  /** The decoded blocks the pieces stand for, in the same cycle. */
  blocks: Buffer[]
}

/** streamedBody plans a body of `total` bytes (a multiple of {@link BLOCK}) of the given texture. */
export function streamedBody(encoding: 'gzip' | 'identity', total: number, texture: Texture): StreamedBody {
  if (total % BLOCK !== 0) throw new Error(`streamedBody: ${total} is not a multiple of ${BLOCK}`)
  const blocks = Array.from({ length: texture === 'zeros' ? 1 : 8 }, () => randomBlock(texture))
  const count = total / BLOCK
  if (encoding === 'identity') {
    return { encoding, total, wireLength: total, head: Buffer.alloc(0), pieces: blocks, tail: Buffer.alloc(0), blocks }
  }
  const pieces = blocks.map((b) => deflateRawSync(b, { finishFlush: constants.Z_FULL_FLUSH }))
  let crc = 0
  let wire = GZIP_HEADER.length + FINAL_BLOCK.length + 8
  for (let i = 0; i < count; i++) {
    crc = crc32(blocks[i % blocks.length]!, crc)
    wire += pieces[i % pieces.length]!.length
  }
  const tail = Buffer.alloc(FINAL_BLOCK.length + 8)
  FINAL_BLOCK.copy(tail)
  tail.writeUInt32LE(crc >>> 0, FINAL_BLOCK.length)
  tail.writeUInt32LE(total % 2 ** 32, FINAL_BLOCK.length + 4)
  return { encoding, total, wireLength: wire, head: GZIP_HEADER, pieces, tail, blocks }
}

/** BodyProgress tells how many decoded bytes the server has handed to the kernel. */
export interface BodyProgress {
  decodedSent(): number
}

/**
 * sendStreamed writes a 200 response carrying `body`, honouring
 * back-pressure; it stops quietly when the socket closes. The returned
 * progress maps the wire bytes the kernel took to decoded bytes.
 */
export function sendStreamed(socket: Socket, body: StreamedBody, done?: () => void): BodyProgress {
  const headers: Record<string, string | number> = { 'content-length': body.wireLength, 'content-type': 'application/octet-stream' }
  if (body.encoding === 'gzip') headers['content-encoding'] = 'gzip'
  const start = Buffer.from(responseHead(200, 'OK', headers))
  const base = socket.bytesWritten
  const ends: number[] = [] // wire offset (from the socket's start) where each block ends
  let offset = base + start.length + body.head.length
  const write = async (): Promise<void> => {
    if (!socket.write(Buffer.concat([start, body.head]))) await drained(socket)
    const count = body.total / BLOCK
    for (let i = 0; i < count && !socket.destroyed; i++) {
      const piece = body.pieces[i % body.pieces.length]!
      offset += piece.length
      ends.push(offset)
      if (!socket.write(piece)) await drained(socket)
    }
    if (!socket.destroyed) socket.write(body.tail)
  }
  write().then(
    () => done?.(),
    () => done?.(),
  )
  return {
    decodedSent() {
      const flushed = socket.bytesWritten - socket.writableLength
      let lo = 0
      let hi = ends.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (ends[mid]! <= flushed) lo = mid + 1
        else hi = mid
      }
      return lo * BLOCK
    },
  }
}

/** drained resolves on the socket's next 'drain' or 'close', leaving no listener behind. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

/** gzipText is `size` bytes of text (hex digits, about 2:1 in gzip) and its gzip encoding. */
export function gzipText(size: number): { plain: Buffer; gzip: Buffer } {
  const bytes = Buffer.allocUnsafe(Math.ceil(size / 2))
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  const plain = Buffer.from(bytes.toString('hex').slice(0, size), 'latin1')
  return { plain, gzip: gzipSync(plain) }
}
