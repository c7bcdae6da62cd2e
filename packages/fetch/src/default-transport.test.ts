import { Transport } from '@roundtrip/transport'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { serve, type Origin } from '../test/servers.js'
import { createFetch } from './create-fetch.js'
import { defaultTransportOptions } from './default-transport.js'

const servers: Origin[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** A server that answers every request with its own request line, to see which form (origin or absolute) reached it. */
async function echoRequestLine(): Promise<string> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', (data) => {
      const line = data.toString('latin1').split('\r\n')[0]!
      socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${line.length}\r\nconnection: close\r\n\r\n${line}`)
    })
  })
  const origin = await serve(server)
  servers.push(origin)
  return origin.url
}

/** Fetches `url` with createFetch over a Transport made with the shared Transport's options for `env`. */
async function fetchWith(env: Record<string, string>, url: string): Promise<string> {
  const transport = new Transport(defaultTransportOptions(env))
  try {
    return await (await createFetch(transport)(url)).text()
  } finally {
    await transport.close()
  }
}

describe("the shared Transport's options and NODE_USE_ENV_PROXY", () => {
  it('go through HTTP_PROXY when NODE_USE_ENV_PROXY=1, as Node fetch does', async () => {
    const proxy = await echoRequestLine()
    const target = 'http://target.invalid:8080/path?q=1'
    expect(await fetchWith({ NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxy }, target)).toBe(`GET ${target} HTTP/1.1`)
  })

  it('go direct without NODE_USE_ENV_PROXY, whatever HTTP_PROXY says', async () => {
    const origin = await echoRequestLine()
    expect(await fetchWith({ HTTP_PROXY: 'http://127.0.0.1:9' }, `${origin}/direct`)).toBe('GET /direct HTTP/1.1')
  })
})
