import type { ServerResponse } from 'node:http'
import { compose, type RoundTripper } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../../test/server.js'
import { dedupe, dedupeKey } from './dedupe.js'

// /slow answers when the test says so; the body is large enough to span many chunks.
const BODY = 'x'.repeat(256 * 1024)
const waiting: ServerResponse[] = []
let onRequest: (() => void) | undefined
let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/fail') {
      req.socket.destroy()
      return
    }
    waiting.push(res)
    onRequest?.()
  })
})
afterAll(() => server.close())

let transport: Transport
afterEach(async () => {
  for (const res of waiting.splice(0)) res.destroy()
  server.hits.clear()
  await transport.close()
})

function client(): RoundTripper {
  transport = new Transport()
  return compose(transport, dedupe())
}

/** Resolves when the server holds a request, then answers it with BODY. */
function answerNext(): Promise<void> {
  return new Promise((resolve) => {
    const go = (): void => {
      onRequest = undefined
      waiting.shift()!.end(BODY)
      resolve()
    }
    if (waiting.length > 0) go()
    else onRequest = go
  })
}

describe('dedupe over the Transport', () => {
  it('serves 50 identical concurrent GETs with one server hit; each caller reads its own whole body and the connection is released', async () => {
    const c = client()
    const calls = Array.from({ length: 50 }, () => c.roundTrip(new Request(`${server.origin}/slow`)))
    await answerNext()
    const responses = await Promise.all(calls)
    expect(new Set(responses).size).toBe(50)
    const texts = await Promise.all(responses.map((r) => r.text()))
    expect(texts.every((t) => t === BODY)).toBe(true)
    expect(server.count('/slow')).toBe(1)
    expect(transport.stats().total).toMatchObject({ active: 0, requests: 1 })
  })

  it('releases the shared connection when the last caller cancels, even if the others read', async () => {
    const c = client()
    const calls = Array.from({ length: 5 }, () => c.roundTrip(new Request(`${server.origin}/slow`)))
    await answerNext()
    const responses = await Promise.all(calls)
    await responses[0]!.text()
    await responses[1]!.text()
    await Promise.all(responses.slice(2).map((r) => r.body!.cancel()))
    expect(transport.stats().total.active).toBe(0)
  })

  it('does not share requests with different headers, methods or bodies', async () => {
    const c = client()
    const calls = [
      c.roundTrip(new Request(`${server.origin}/slow`)),
      c.roundTrip(new Request(`${server.origin}/slow`, { headers: { accept: 'text/plain' } })),
      c.roundTrip(new Request(`${server.origin}/slow`, { method: 'POST', body: 'a' })),
    ]
    for (let i = 0; i < 3; i++) await answerNext()
    await Promise.all((await Promise.all(calls)).map((r) => r.text()))
    expect(server.count('/slow')).toBe(3)
    expect(dedupeKey(new Request('http://h.test/', { headers: { b: '1', a: '2' } }))).toBe(
      dedupeKey(new Request('http://h.test/', { headers: { a: '2', b: '1' } })),
    )
  })

  it('lets an aborted caller leave at once; the others still get the response', async () => {
    const c = client()
    const controller = new AbortController()
    const leaving = c.roundTrip(new Request(`${server.origin}/slow`, { signal: controller.signal }))
    const staying = c.roundTrip(new Request(`${server.origin}/slow`))
    controller.abort(new Error('bye'))
    await expect(leaving).rejects.toThrow('bye')
    await answerNext()
    expect(await (await staying).text()).toBe(BODY)
    expect(server.count('/slow')).toBe(1)
  })

  it('aborts the shared request when every caller has left', async () => {
    const c = client()
    // A request of an earlier test may have reached the server after its cleanup: not ours to wait on.
    for (const res of waiting.splice(0)) res.destroy()
    const controllers = [new AbortController(), new AbortController()]
    const calls = controllers.map((ctl) => c.roundTrip(new Request(`${server.origin}/slow`, { signal: ctl.signal })))
    await new Promise<void>((resolve) => (waiting.length > 0 ? resolve() : (onRequest = resolve)))
    onRequest = undefined
    const closed = new Promise((resolve) => waiting[0]!.on('close', resolve))
    for (const ctl of controllers) ctl.abort(new Error('all gone'))
    for (const call of calls) await expect(call).rejects.toThrow('all gone')
    await closed
    expect(transport.stats().total.active).toBe(0)
  })

  it('rejects every caller with the shared failure, and the next call goes down again', async () => {
    const c = client()
    const calls = [1, 2, 3].map(() => c.roundTrip(new Request(`${server.origin}/fail`)))
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    await expect(c.roundTrip(new Request(`${server.origin}/fail`))).rejects.toMatchObject({ code: 'RT_SOCKET_CLOSED' })
    expect(server.count('/fail')).toBe(2)
  })
})
