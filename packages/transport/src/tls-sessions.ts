import type { TLSSocket } from 'node:tls'

/** Default {@link TransportOptions.maxCachedSessions} (as undici and Node's https.Agent). */
export const DEFAULT_MAX_CACHED_SESSIONS = 100

/**
 * TlsSessionCache keeps the latest TLS session (ticket) of each server a
 * transport connects to, so that the next connection to it resumes the
 * session instead of a full handshake (Go's `ClientSessionCache`, Node's
 * https.Agent session cache). Keyed by hop (proxy or target: their TLS
 * options differ), server name and port: one entry per origin, and one per
 * `https://` proxy. Least recently used entries leave
 * past `max`; a session that fails is dropped.
 */
export class TlsSessionCache {
  readonly #max: number
  readonly #sessions = new Map<string, Buffer>()

  constructor(max: number) {
    this.#max = max
  }

  /** The session to offer when connecting to `key`, if any. */
  get(key: string): Buffer | undefined {
    const session = this.#sessions.get(key)
    if (session === undefined) return undefined
    // Most recently used last.
    this.#sessions.delete(key)
    this.#sessions.set(key, session)
    return session
  }

  /** watch stores each session `socket` receives under `key`, and drops `key` if the socket fails. */
  watch(socket: TLSSocket, key: string): void {
    if (this.#max === 0) return
    socket.on('session', (session: Buffer) => this.#set(key, session))
    socket.once('error', () => this.#sessions.delete(key))
  }

  #set(key: string, session: Buffer): void {
    this.#sessions.delete(key)
    this.#sessions.set(key, session)
    if (this.#sessions.size > this.#max) this.#sessions.delete(this.#sessions.keys().next().value!)
  }
}
