import { Agent, request } from 'undici'
import type { Client } from './client.js'

/** createUndiciRequestClient measures undici's `request` on its own `Agent`, body read with `arrayBuffer()`. */
export function createUndiciRequestClient(): Client {
  const agent = new Agent()
  return {
    get: async (url) => (await (await request(url, { dispatcher: agent })).body.arrayBuffer()).byteLength,
    close: () => agent.close(),
  }
}
