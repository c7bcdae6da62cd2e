import { Agent, ProxyAgent, request } from 'undici'
import type { Client } from './client.js'

/**
 * createUndiciRequestClient measures undici's `request` on its own `Agent`,
 * body read with `arrayBuffer()`. Through a proxy it uses a `ProxyAgent`
 * that forwards `http:` requests as the Transport does (`proxyTunnel:
 * false`; by default undici tunnels them with CONNECT).
 */
export function createUndiciRequestClient(proxy?: string): Client {
  const agent = proxy === undefined ? new Agent() : new ProxyAgent({ uri: proxy, proxyTunnel: false })
  return {
    get: async (url) => (await (await request(url, { dispatcher: agent })).body.arrayBuffer()).byteLength,
    close: () => agent.close(),
  }
}
