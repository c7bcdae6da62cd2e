import { Agent } from 'node:http'
import nodeFetch from 'node-fetch'
import type { Client } from './client.js'

/** createNodeFetchClient measures node-fetch v3 with a keep-alive `node:http` Agent, body read with `arrayBuffer()`. */
export function createNodeFetchClient(): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  return {
    get: async (url) => (await (await nodeFetch(url, { agent })).arrayBuffer()).byteLength,
    close: async () => agent.destroy(),
  }
}
