import { Transport, type TransportOptions } from '@roundtrip/transport'
import type { Client } from './client.js'

/**
 * createTransportClient measures `Transport.roundTrip` with default options
 * (and `proxy`, a trusted `ca`, `protocols` when given: over TLS the default
 * offers h2 and http/1.1), body read with `arrayBuffer()`.
 */
export function createTransportClient(proxy?: string, ca?: string, protocols?: TransportOptions['protocols']): Client {
  const options: TransportOptions = {}
  if (proxy !== undefined) options.proxy = proxy
  if (ca !== undefined) options.tls = { ca }
  if (protocols !== undefined) options.protocols = protocols
  const transport = new Transport(options)
  return {
    get: async (url) => (await (await transport.roundTrip(new Request(url))).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
