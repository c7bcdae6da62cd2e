import { Agent, ProxyAgent, request } from 'undici'
import type { Client } from './client.js'

/**
 * createUndiciRequestClient measures undici's `request` on its own `Agent`,
 * body read with `arrayBuffer()`. Through a proxy it uses a `ProxyAgent`
 * that forwards `http:` requests as the Transport does (`proxyTunnel:
 * false`; by default undici tunnels them with CONNECT). Given a `ca` (a TLS
 * case), its Agent trusts it and offers HTTP/2 (`allowH2: true`).
 */
export function createUndiciRequestClient(proxy?: string, ca?: string): Client {
  const agent =
    proxy !== undefined ? new ProxyAgent({ uri: proxy, proxyTunnel: false }) : ca !== undefined ? new Agent({ allowH2: true, connect: { ca } }) : new Agent()
  return {
    get: async (url) => (await (await request(url, { dispatcher: agent })).body.arrayBuffer()).byteLength,
    close: () => agent.close(),
  }
}
