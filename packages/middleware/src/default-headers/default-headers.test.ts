import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../../test/server.js'
import { defaultHeaders } from './default-headers.js'

let server: TestServer
let transport: Transport
beforeAll(async () => {
  server = await startServer((req, res) => res.end(JSON.stringify(req.headers)))
  transport = new Transport()
})
afterAll(async () => {
  await transport.close()
  await server.close()
})

async function sent(request: Request, mw: ReturnType<typeof defaultHeaders>): Promise<Record<string, string>> {
  return (await (await compose(transport, mw).roundTrip(request)).json()) as Record<string, string>
}

describe('defaultHeaders', () => {
  it('adds the headers a request lacks and keeps the ones it has', async () => {
    const mw = defaultHeaders({ 'User-Agent': 'me/1.0', accept: 'application/json', 'x-extra': 'yes' })
    const headers = await sent(new Request(server.origin, { headers: { accept: 'text/html' } }), mw)
    expect(headers).toMatchObject({ 'user-agent': 'me/1.0', accept: 'text/html', 'x-extra': 'yes' })
  })

  it('calls a function value per request, only when the header is missing, and awaits a promise', async () => {
    let calls = 0
    const mw = defaultHeaders({ authorization: async () => `Bearer t${++calls}` })
    expect((await sent(new Request(server.origin), mw)).authorization).toBe('Bearer t1')
    expect((await sent(new Request(server.origin), mw)).authorization).toBe('Bearer t2')
    expect((await sent(new Request(server.origin, { headers: { authorization: 'Basic x' } }), mw)).authorization).toBe('Basic x')
    expect(calls).toBe(2)
  })

  it('adds nothing when a function returns undefined', async () => {
    const headers = await sent(new Request(server.origin), defaultHeaders({ 'x-maybe': () => undefined }))
    expect(headers['x-maybe']).toBeUndefined()
  })

  it('does not mutate the caller request', async () => {
    const request = new Request(server.origin)
    await sent(request, defaultHeaders({ 'x-a': '1' }))
    expect(request.headers.has('x-a')).toBe(false)
  })

  it('rejects the call with the error of a value function, sending nothing', async () => {
    const before = server.count('/')
    const mw = defaultHeaders({ authorization: () => Promise.reject(new Error('no token')) })
    await expect(compose(transport, mw).roundTrip(new Request(server.origin))).rejects.toThrow('no token')
    const throwing = defaultHeaders({
      authorization: () => {
        throw new Error('sync')
      },
    })
    await expect(compose(transport, throwing).roundTrip(new Request(server.origin))).rejects.toThrow('sync')
    expect(server.count('/')).toBe(before)
  })

  it('rejects an invalid header name or value with RT_INVALID_OPTION', () => {
    expect(() => defaultHeaders({ 'bad name': 'x' })).toThrow(/defaultHeaders: "bad name" is not a valid header/)
    expect(() => defaultHeaders({ a: 1 as never })).toThrow(/must be a string or a function/)
  })
})
