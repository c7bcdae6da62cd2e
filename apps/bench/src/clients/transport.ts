import { Transport } from '@roundtrip/transport'
import type { Client } from './client.js'

/** createTransportClient measures `Transport.roundTrip` with default options (and `proxy` when given), body read with `arrayBuffer()`. */
export function createTransportClient(proxy?: string): Client {
  const transport = new Transport(proxy === undefined ? {} : { proxy })
  return {
    get: async (url) => (await (await transport.roundTrip(new Request(url))).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
