import { Agent } from 'node:http'
import got from 'got'
import type { Client } from './client.js'

/** createGotClient measures got with a keep-alive `node:http` Agent and retries off, body read with `.buffer()`. */
export function createGotClient(): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  const client = got.extend({ agent: { http: agent }, retry: { limit: 0 } })
  return {
    get: async (url) => (await client(url).buffer()).length,
    close: async () => agent.destroy(),
  }
}
