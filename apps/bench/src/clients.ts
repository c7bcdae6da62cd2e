import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import axios from 'axios'
import got from 'got'
import nodeFetch from 'node-fetch'
import { Agent, Pool, fetch as undiciFetch, request as undiciRequest } from 'undici'

/** Client is one HTTP client under test: `get` fetches a URL and reads its body to the end. */
export interface Client {
  get(url: string): Promise<void>
  close(): Promise<void>
}

function drainHttp(url: string, agent: HttpAgent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      res.on('data', () => {})
      res.on('end', resolve)
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function drainFetch(response: Response | { arrayBuffer(): Promise<ArrayBuffer>; ok: boolean }): Promise<void> {
  await response.arrayBuffer()
}

/** Every client the bench knows, by the name shown in the report. */
export const clients: Record<string, () => Client> = {
  'node fetch': () => ({ get: async (url) => drainFetch(await fetch(url)), close: async () => {} }),
  'undici.request': () => {
    const agent = new Agent()
    return {
      get: async (url) => void (await (await undiciRequest(url, { dispatcher: agent })).body.arrayBuffer()),
      close: () => agent.close(),
    }
  },
  'undici Pool.request': () => {
    const pools = new Map<string, Pool>()
    return {
      get: async (url) => {
        const origin = url.slice(0, url.indexOf('/', 8))
        let pool = pools.get(origin)
        if (pool === undefined) pools.set(origin, (pool = new Pool(origin)))
        const { body } = await pool.request({ path: url.slice(origin.length), method: 'GET' })
        await body.arrayBuffer()
      },
      close: async () => void (await Promise.all([...pools.values()].map((p) => p.close()))),
    }
  },
  'undici fetch': () => {
    const agent = new Agent()
    return { get: async (url) => drainFetch(await undiciFetch(url, { dispatcher: agent })), close: () => agent.close() }
  },
  'node:http keep-alive': () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity })
    return { get: (url) => drainHttp(url, agent), close: async () => agent.destroy() }
  },
  got: () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity })
    const client = got.extend({ agent: { http: agent }, retry: { limit: 0 } })
    return { get: async (url) => void (await client(url).buffer()), close: async () => agent.destroy() }
  },
  axios: () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity })
    const client = axios.create({ httpAgent: agent, responseType: 'arraybuffer' })
    return { get: async (url) => void (await client.get(url)), close: async () => agent.destroy() }
  },
  'node-fetch': () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity })
    return { get: async (url) => void (await (await nodeFetch(url, { agent })).arrayBuffer()), close: async () => agent.destroy() }
  },
  'Transport.roundTrip': () => {
    const transport = new Transport()
    return { get: async (url) => drainFetch(await transport.roundTrip(new Request(url))), close: () => transport.close() }
  },
  'createFetch(Transport)': () => {
    const transport = new Transport()
    const f = createFetch(transport)
    return { get: async (url) => drainFetch(await f(url)), close: () => transport.close() }
  },
  'createFetch + leakTracker': () => {
    const transport = new Transport()
    const f = createFetch(compose(transport, leakTracker({ captureStack: false })))
    return { get: async (url) => drainFetch(await f(url)), close: () => transport.close() }
  },
  'createFetch + leakTracker (stacks)': () => {
    const transport = new Transport()
    const f = createFetch(compose(transport, leakTracker({ captureStack: true })))
    return { get: async (url) => drainFetch(await f(url)), close: () => transport.close() }
  },
}
