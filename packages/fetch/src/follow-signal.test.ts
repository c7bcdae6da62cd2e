import { getEventListeners } from 'node:events'
import { Transport } from '@roundtrip/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { collectGarbage, listen, nextMessage } from '../test/servers.js'
import { createFetch } from './create-fetch.js'

const open: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close()
})

async function setUp(): Promise<{ fetch: typeof globalThis.fetch; url: string; transport: Transport }> {
  const server = await listen((_req, res) => res.end('hello'))
  const transport = new Transport()
  open.push(() => server.close())
  open.push(() => transport.close())
  return { fetch: createFetch(transport), url: `${server.url}/`, transport }
}

/** Resolves when a Transport has a connection back in its pool (the whole body has arrived): its `roundtrip:conn:idle` event. */
function arrived(): Promise<unknown> {
  return nextMessage('roundtrip:conn:idle')
}

describe('createFetch: an abort after the whole body arrived', () => {
  it('rejects text() with the signal reason, as Node fetch does', async () => {
    const { fetch, url, transport } = await setUp()
    const controller = new AbortController()
    const idle = arrived()
    const response = await fetch(url, { signal: controller.signal })
    await idle
    controller.abort()
    await expect(response.text()).rejects.toBe(controller.signal.reason)
  })

  it('rejects a clone and a stream reader too', async () => {
    const { fetch, url, transport } = await setUp()
    const controller = new AbortController()
    const idle = arrived()
    const response = await fetch(url, { signal: controller.signal })
    const clone = response.clone()
    await idle
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(clone.arrayBuffer()).rejects.toBe(reason)
    await expect(response.body!.getReader().read()).rejects.toBe(reason)
  })

  it('a dropped response whose body still streams is collected and its connection released, though the signal lives on', async () => {
    const server = await listen((_req, res) => res.write('first chunk, then nothing'))
    const transport = new Transport()
    open.push(() => server.close())
    open.push(async () => {
      transport.destroy()
      await transport.close()
    })
    const fetch = createFetch(transport)
    const controller = new AbortController()
    await fetch(`${server.url}/`, { signal: controller.signal })
    expect(transport.stats().total.active).toBe(1)
    await collectGarbage(() => transport.stats().total.active === 0)
    expect(transport.stats().total.active).toBe(0)
    expect(controller.signal.aborted).toBe(false)
  })

  it('takes its listener off the request signal once the body is read, or cancelled', async () => {
    const { fetch, url } = await setUp()
    const controller = new AbortController()
    const read = new Request(url, { signal: controller.signal })
    const response = await fetch(read)
    expect(getEventListeners(read.signal, 'abort')).toHaveLength(1)
    await response.text()
    expect(getEventListeners(read.signal, 'abort')).toHaveLength(0)
    const cancelled = new Request(url, { signal: controller.signal })
    await (await fetch(cancelled)).body!.cancel()
    expect(getEventListeners(cancelled.signal, 'abort')).toHaveLength(0)
  })
})
