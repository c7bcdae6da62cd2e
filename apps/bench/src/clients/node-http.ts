import { Agent, request } from 'node:http'
import type { Client } from './client.js'

/** createNodeHttpClient measures `node:http` `request` with a keep-alive `Agent` (no socket limit), body counted from `data` events. */
export function createNodeHttpClient(): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  return {
    get: (url) =>
      new Promise((resolve, reject) => {
        const req = request(url, { agent }, (res) => {
          let bytes = 0
          res.on('data', (chunk: Buffer) => void (bytes += chunk.length))
          res.on('end', () => resolve(bytes))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end()
      }),
    close: async () => agent.destroy(),
  }
}
