import { Transport } from '@roundtrip/transport'
import type { Client } from './client.js'

/** createTransportClient measures `Transport.roundTrip` with default options, body read with `arrayBuffer()`. */
export function createTransportClient(): Client {
  const transport = new Transport()
  return {
    get: async (url) => (await (await transport.roundTrip(new Request(url))).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
