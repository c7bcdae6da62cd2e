import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../test/server.js'
import { Transport } from './transport.js'

let server: TestServer | undefined
let transport: Transport | undefined
afterEach(async () => {
  transport?.destroy()
  await transport?.close()
  await server?.close()
  transport = undefined
  server = undefined
})

function zero(t: Transport): void {
  expect(t.stats().total).toMatchObject({ active: 0, waiting: 0, dialing: 0 })
}

describe('Transport: aborts', () => {
  it('rejects with the signal reason at once when the signal is already aborted', async () => {
    server = await startServer((req, res) => res.end('x'))
    transport = new Transport()
    const reason = new Error('already')
    await expect(transport.roundTrip(new Request(server.origin, { signal: AbortSignal.abort(reason) }))).rejects.toBe(reason)
    expect(server.connections).toBe(0)
  })

  it('takes a waiter out of the queue at once when its signal aborts', async () => {
    let release: () => void = () => {}
    let arrived: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const holding = new Promise<void>((resolve) => (arrived = resolve))
    server = await startServer(async (req, res) => {
      if (req.url === '/hold') {
        arrived()
        await held
      }
      res.end(req.url)
    })
    transport = new Transport({ maxConnsPerHost: 1 })
    const first = transport.roundTrip(new Request(`${server.origin}/hold`))
    const controller = new AbortController()
    const waiting = transport.roundTrip(new Request(`${server.origin}/waiting`, { signal: controller.signal }))
    await holding
    expect(transport.stats().total.waiting).toBe(1)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    expect(transport.stats().total.waiting).toBe(0)
    release()
    expect(await (await first).text()).toBe('/hold')
    // The aborted waiter never reached the server; the next request reuses the conn.
    expect(await (await transport.roundTrip(new Request(`${server.origin}/next`))).text()).toBe('/next')
    expect(server.connections).toBe(1)
    zero(transport)
  })

  it('closes the connection when the signal aborts while waiting for the response head', async () => {
    let arrived: () => void = () => {}
    const inHandler = new Promise<void>((resolve) => (arrived = resolve))
    server = await startServer(() => arrived()) // never answers
    transport = new Transport()
    const controller = new AbortController()
    const pending = transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    await inHandler
    const reason = new Error('took too long')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    await server.closedCount(1)
    zero(transport)
  })

  it('errors the body with the signal reason when the signal aborts while the body is read', async () => {
    server = await startServer((req, res) => {
      res.write('first part')
      // never ends
    })
    transport = new Transport()
    const controller = new AbortController()
    const response = await transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first part')
    const reason = new Error('stop reading')
    controller.abort(reason)
    await expect(reader.read()).rejects.toBe(reason)
    await server.closedCount(1)
    zero(transport)
  })

  it('rejects text() with the signal reason when the signal aborts mid-body', async () => {
    server = await startServer((req, res) => res.write('partial'))
    transport = new Transport()
    const controller = new AbortController()
    const response = await transport.roundTrip(new Request(server.origin, { signal: controller.signal }))
    const text = response.text()
    controller.abort()
    await expect(text).rejects.toMatchObject({ name: 'AbortError' })
    await server.closedCount(1)
    zero(transport)
  })
})
