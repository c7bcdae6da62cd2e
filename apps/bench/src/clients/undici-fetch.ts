import { Agent, fetch } from 'undici'
import type { Client } from './client.js'

/** createUndiciFetchClient measures the `fetch` of the undici package (v7) on its own `Agent`, body read with `arrayBuffer()`. */
export function createUndiciFetchClient(): Client {
  const agent = new Agent()
  return {
    get: async (url) => (await (await fetch(url, { dispatcher: agent })).arrayBuffer()).byteLength,
    close: () => agent.close(),
  }
}
