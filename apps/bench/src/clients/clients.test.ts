import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenAll, type Listening } from '../server.js'
import { CLIENTS } from './index.js'

// A body bigger than one socket read and one undici chunk, so that a client
// that stops after the first chunk is caught.
const LARGE = 70_000

let raw: Listening
let http: Listening

beforeAll(async () => {
  raw = await listenAll('raw', 1, LARGE)
  http = await listenAll('http', 1, 11)
})

afterAll(async () => {
  await raw.close()
  await http.close()
})

describe.each(CLIENTS.map((c) => [c.label, c] as const))('%s', (_, entry) => {
  it('reads a large body to the end from the raw server, twice on one client', async () => {
    const client = (await entry.load())()
    try {
      const url = `http://127.0.0.1:${raw.ports[0]}/`
      expect(await client.get(url)).toBe(LARGE)
      expect(await client.get(url)).toBe(LARGE)
    } finally {
      await client.close()
    }
  })

  it('reads a small body from the node:http server', async () => {
    const client = (await entry.load())()
    try {
      expect(await client.get(`http://127.0.0.1:${http.ports[0]}/`)).toBe(11)
    } finally {
      await client.close()
    }
  })
})
