import { Transport } from '@roundtrip/transport'
import { toDispatcher } from '@roundtrip/undici'
import type { Client } from './client.js'

/**
 * createBridgedFetchClient measures Node's global `fetch` over
 * `toDispatcher(new Transport())` (what `install()` sets globally), body
 * read with `arrayBuffer()`: the cost of the bridge against `node fetch` on
 * Node's own dispatcher.
 */
export function createBridgedFetchClient(): Client {
  const dispatcher = toDispatcher(new Transport())
  // Node types `dispatcher` with its own undici-types, a different copy of the same class.
  const init = { dispatcher } as unknown as RequestInit
  return {
    get: async (url) => (await (await fetch(url, init)).arrayBuffer()).byteLength,
    close: () => dispatcher.close(),
  }
}
