import { Pool } from 'undici'
import type { Client } from './client.js'

/**
 * createUndiciPoolClient measures undici's `Pool.request`, one `Pool` per
 * origin made on first use (what a user who talks to a few known hosts
 * writes), body read with `arrayBuffer()`.
 */
export function createUndiciPoolClient(): Client {
  const pools = new Map<string, Pool>()
  return {
    get: async (url) => {
      const origin = url.slice(0, url.indexOf('/', 8))
      let pool = pools.get(origin)
      if (pool === undefined) pools.set(origin, (pool = new Pool(origin)))
      const { body } = await pool.request({ path: url.slice(origin.length), method: 'GET' })
      return (await body.arrayBuffer()).byteLength
    },
    close: async () => void (await Promise.all([...pools.values()].map((p) => p.close()))),
  }
}
