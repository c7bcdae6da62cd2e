import { Agent } from 'node:http'
import axios from 'axios'
import type { Client } from './client.js'

/** createAxiosClient measures axios with a keep-alive `node:http` Agent, body read as an `arraybuffer`. */
export function createAxiosClient(): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  const client = axios.create({ httpAgent: agent, responseType: 'arraybuffer' })
  return {
    get: async (url) => ((await client.get(url)).data as Buffer).length,
    close: async () => agent.destroy(),
  }
}
