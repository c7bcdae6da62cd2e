import { createFetch } from '@roundtrip/fetch'
import { Transport } from '@roundtrip/transport'
import type { Client } from './client.js'

/** createFetchClient measures `createFetch(new Transport())`, body read with `arrayBuffer()`. */
export function createFetchClient(): Client {
  const transport = new Transport()
  const fetch = createFetch(transport)
  return {
    get: async (url) => (await (await fetch(url)).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
