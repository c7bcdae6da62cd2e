import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFetch } from '@roundtrip/fetch'
import { Agent, EnvHttpProxyAgent, SnapshotAgent, interceptors } from 'undici'
import { describe, expect, it } from 'vitest'
import { useClosing } from '../test/closing.js'
import { startProxy } from '../test/proxy-process.js'
import { startServer, type TestServer } from '../test/server.js'
import { fromDispatcher } from './from-dispatcher.js'

// The undici parts a team may already run, each under createFetch through
// fromDispatcher, against real loopback servers: interceptors composed on
// an Agent, EnvHttpProxyAgent and SnapshotAgent.

const track = useClosing()

/** A server that answers `/cached` with a cacheable body, `/flaky` with a 503 first, anything else with its URL. */
async function serve(): Promise<TestServer & { paths: string[] }> {
  const paths: string[] = []
  let flaky = 0
  const server = await startServer((req, res) => {
    paths.push(req.url!)
    if (req.url === '/cached') {
      res.setHeader('cache-control', 'public, max-age=60')
      res.end(`cached ${paths.length}`)
    } else if (req.url === '/flaky' && flaky++ === 0) {
      res.statusCode = 503
      res.end('try again')
    } else res.end(`served ${req.url}`)
  })
  return Object.assign(track(server), { paths })
}

describe('fromDispatcher over interceptors composed on an Agent', () => {
  it('answers a second GET from the cache interceptor, without the server', async () => {
    const server = await serve()
    const fetch = createFetch(track(fromDispatcher(new Agent().compose(interceptors.cache()))))
    expect(await (await fetch(`${server.origin}/cached`)).text()).toBe('cached 1')
    const again = await fetch(`${server.origin}/cached`)
    expect(again.headers.get('age')).not.toBeNull()
    expect(await again.text()).toBe('cached 1')
    expect(server.paths).toEqual(['/cached'])
  })

  it('sends a GET again on a 503 through the retry interceptor, handing on only the answer', async () => {
    const server = await serve()
    const retry = interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1 })
    const fetch = createFetch(track(fromDispatcher(new Agent().compose(retry))))
    const response = await fetch(`${server.origin}/flaky`)
    expect([response.status, await response.text()]).toEqual([200, 'served /flaky'])
    expect(server.paths).toEqual(['/flaky', '/flaky'])
  })

  it('resolves a name through the dns interceptor', async () => {
    const server = await serve()
    const lookups: string[] = []
    const dns = interceptors.dns({
      lookup: (origin, _options, callback) => {
        lookups.push(origin.hostname)
        callback(null, [{ address: '127.0.0.1', family: 4, ttl: 60_000 }])
      },
    })
    const fetch = createFetch(track(fromDispatcher(new Agent().compose(dns))))
    const port = new URL(server.origin).port
    expect(await (await fetch(`http://service.internal:${port}/dns`)).text()).toBe('served /dns')
    expect(lookups).toEqual(['service.internal'])
  })
})

describe('fromDispatcher over an EnvHttpProxyAgent', () => {
  it('sends a request through the proxy its options name, and one to a no-proxy host straight', async () => {
    const server = await serve()
    const proxy = track(await startProxy())
    const agent = new EnvHttpProxyAgent({ httpProxy: proxy.url, noProxy: 'localhost' })
    const fetch = createFetch(track(fromDispatcher(agent)))
    expect(await (await fetch(`${server.origin}/via`)).text()).toBe('served /via')
    const port = new URL(server.origin).port
    expect(await (await fetch(`http://localhost:${port}/straight`)).text()).toBe('served /straight')
    expect(proxy.log).toHaveLength(1)
    expect(proxy.log[0]).toContain(server.origin.slice('http://'.length))
    expect(server.paths).toEqual(['/via', '/straight'])
  })
})

describe('fromDispatcher over a SnapshotAgent', () => {
  it('records answers from the server, then plays them back with the server gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roundtrip-snapshot-'))
    try {
      const snapshotPath = join(dir, 'snapshots.json')
      const server = await serve()
      const recorder = track(new SnapshotAgent({ mode: 'record', snapshotPath }))
      const record = createFetch(fromDispatcher(recorder))
      expect(await (await record(`${server.origin}/users`)).text()).toBe('served /users')
      await recorder.saveSnapshots()
      await server.close()

      const player = track(new SnapshotAgent({ mode: 'playback', snapshotPath }))
      const play = createFetch(fromDispatcher(player))
      const replayed = await play(`${server.origin}/users`)
      expect([replayed.status, await replayed.text()]).toEqual([200, 'served /users'])
      await expect(play(`${server.origin}/other`)).rejects.toThrow(TypeError)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
