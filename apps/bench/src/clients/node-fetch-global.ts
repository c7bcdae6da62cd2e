import type { Client } from './client.js'

/** createGlobalFetchClient measures Node's global `fetch` (its bundled undici), body read with `arrayBuffer()`. */
export function createGlobalFetchClient(): Client {
  return {
    get: async (url) => (await (await fetch(url)).arrayBuffer()).byteLength,
    close: async () => {},
  }
}
