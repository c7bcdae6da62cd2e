import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { ScriptedResponse } from './fault-script.js'

/** bytes turns a scripted body into a Buffer (a view, not a copy). */
export function bytes(body: string | Uint8Array | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0)
  return typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
}

function rawHead(status: number, statusText: string, headers: Array<[string, string]>): Buffer {
  const lines = [`HTTP/1.1 ${status} ${statusText}`, ...headers.map(([k, v]) => `${k}: ${v}`)]
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
}

function headerPairs(headers: Record<string, string | string[]> | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v])
  }
  return out
}

/**
 * Waits is connection-lifetime bookkeeping: every wait ends when its socket closes or
 * the server closes, and no timer outlives the server.
 */
export class Waits {
  readonly #ends = new Set<() => void>()
  #closed = false

  /** Resolves true after `ms` (never when undefined), false as soon as `socket` closes or the server closes. */
  wait(ms: number | undefined, socket: Socket): Promise<boolean> {
    if (this.#closed || socket.destroyed) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const end = (elapsed: boolean): void => {
        if (timer !== undefined) clearTimeout(timer)
        socket.off('close', onClose)
        this.#ends.delete(onClose)
        resolve(elapsed)
      }
      const onClose = (): void => end(false)
      if (ms !== undefined) timer = setTimeout(() => end(true), ms)
      socket.once('close', onClose)
      this.#ends.add(onClose)
    })
  }

  closeAll(): void {
    this.#closed = true
    for (const end of [...this.#ends]) end()
  }
}

/** finish ends `socket` with a FIN (`close`) or an RST (`reset`). */
export function finish(socket: Socket, how: 'close' | 'reset'): void {
  if (socket.destroyed) return
  if (how === 'reset') socket.resetAndDestroy()
  else socket.end(() => socket.destroy())
}

function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (chunk.byteLength === 0 && res.headersSent) resolve()
    else res.write(chunk, () => resolve())
  })
}

function writeSocket(socket: Socket, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => socket.write(chunk, () => resolve()))
}

/** send answers one request as `script` says. */
export async function send(req: IncomingMessage, res: ServerResponse, script: ScriptedResponse, waits: Waits): Promise<void> {
  const socket = req.socket
  const fault = script.fault
  const how = fault?.startsWith('reset') === true ? 'reset' : 'close'
  if (script.raw !== undefined) {
    await writeSocket(socket, bytes(script.raw))
    return finish(socket, how)
  }
  if (fault === 'close-before-head' || fault === 'reset-before-head') return finish(socket, how)
  if (fault === 'stall-head' && !(await waits.wait(script.stallMs, socket))) return

  const status = script.status ?? 200
  const statusText = script.statusText ?? STATUS_CODES[status] ?? 'Unknown'
  const body = bytes(script.body)
  const headers = headerPairs(script.headers)
  if (script.chunked !== true && !headers.some(([k]) => k.toLowerCase() === 'content-length')) {
    headers.push(['content-length', String(script.contentLength ?? body.byteLength)])
  }
  for (const info of script.informational ?? []) {
    await writeSocket(socket, rawHead(info.status, STATUS_CODES[info.status] ?? 'Informational', headerPairs(info.headers)))
  }
  if (fault === 'close-mid-head' || fault === 'reset-mid-head') {
    const head = rawHead(status, statusText, headers)
    await writeSocket(socket, head.subarray(0, script.faultAfterBytes ?? Math.floor(head.byteLength / 2)))
    return finish(socket, how)
  }

  res.writeHead(status, statusText, headers.flat())
  const cut = script.faultAfterBytes ?? Math.floor(body.byteLength / 2)
  let rest = body
  if (fault === 'close-mid-body' || fault === 'reset-mid-body') {
    await write(res, body.subarray(0, cut))
    return finish(socket, how)
  }
  if (fault === 'stall-body') {
    await write(res, body.subarray(0, cut))
    if (!(await waits.wait(script.stallMs, socket))) return
    rest = body.subarray(cut)
  }
  if (script.throttle !== undefined) {
    const { bytes: size, intervalMs } = script.throttle
    for (let at = 0; at < rest.byteLength; at += size) {
      if (at > 0 && !(await waits.wait(intervalMs, socket))) return
      await write(res, rest.subarray(at, at + size))
    }
    rest = rest.subarray(rest.byteLength)
  }
  await new Promise<void>((resolve) => res.end(rest, () => resolve()))
  if (fault === 'close-after-body' || fault === 'reset-after-body') finish(socket, how)
}
