import { Transport } from '@roundtrip/transport'
import { install, uninstall } from '@roundtrip/undici'
import type { Client } from './client.js'

/**
 * createBridgedFetchClient measures Node's global `fetch` over
 * `toDispatcher(new Transport())` installed as the global dispatcher, as
 * `install()` does for code that calls `fetch(url)` and does not know about
 * roundtrip; body read with `arrayBuffer()`: the cost of the bridge against
 * `node fetch` on Node's own dispatcher, with the same call. (Passing the
 * dispatcher in each call's init instead makes Node's fetch read a
 * `RequestInit` that `fetch(url)` does not have, which the bridge would be
 * charged for.)
 */
export function createBridgedFetchClient(): Client {
  const dispatcher = install(new Transport())
  return {
    get: async (url) => (await (await fetch(url)).arrayBuffer()).byteLength,
    close: async () => {
      uninstall()
      await dispatcher.close()
    },
  }
}
