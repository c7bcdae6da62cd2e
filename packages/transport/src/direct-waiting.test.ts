import { undiciDispatch, type UndiciWaitingDispatch, type UndiciWaitingList } from '@roundtrip/core'
import { describe, expect, it } from 'vitest'
import { useFixture } from '../test/fixture.js'
import { startH2Server } from '../test/h2.js'
import { startHoldingServer, startRawServer } from '../test/server.js'
import { closedPort, deferred } from '../test/util.js'
import { Transport } from './transport.js'

// Core's `undiciDispatch` given a dispatcher's waiting list (its 4th
// argument, what toDispatcher passes): the Transport's dispatch is in the
// list from its start to its final head or its end, the list's abort fails
// it with the reason, and its failures are a dispatcher's (systemCause).

const f = useFixture()

/** A waiting list as core describes it, recording what joined it. */
class List implements UndiciWaitingList {
  readonly items = new Set<UndiciWaitingDispatch>()
  adds = 0

  add(dispatch: UndiciWaitingDispatch): void {
    this.adds++
    dispatch.slot = this.items.size
    this.items.add(dispatch)
  }

  delete(dispatch: UndiciWaitingDispatch): boolean {
    if (!this.items.delete(dispatch)) return false
    dispatch.slot = -1
    return true
  }
}

type Failure = Error & { code?: string; roundTripError?: { code?: string } }

/** A legacy handler recording each call with how many dispatches `list` holds at that moment. */
function recorder(list: List): { calls: string[]; errors: Failure[]; settled: Promise<void>; handler: object } {
  const done = deferred()
  const calls: string[] = []
  const errors: Failure[] = []
  const at = (call: string): void => void calls.push(`${call} (listed ${list.items.size})`)
  const handler = {
    onConnect: () => at('connect'),
    onHeaders: (status: number) => (at(`headers ${status}`), true),
    onData: (chunk: Buffer) => (at(`data ${chunk.length}`), true),
    onComplete: () => (at('complete'), done.resolve()),
    onError: (error: Failure) => (at(`error ${error.code ?? error.message}`), errors.push(error), done.resolve()),
  }
  return { calls, errors, settled: done.promise, handler }
}

describe('Transport[undiciDispatch] with a dispatcher’s waiting list', () => {
  it('joins before onConnect, stays through a 1xx head, leaves at the final head: the body streams unlisted', async () => {
    const server = f.serve(await startRawServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'))
    }))
    const transport = f.use(new Transport())
    const list = new List()
    const state = recorder(list)
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, state.handler, undefined, list)).toBe(true)
    await state.settled
    expect(state.calls).toEqual(['connect (listed 1)', 'headers 103 (listed 1)', 'headers 200 (listed 0)', 'data 5 (listed 0)', 'complete (listed 0)'])
    expect(list.adds).toBe(1)
  })

  it('leaves at the final head of an HTTP/2 stream too', async () => {
    const server = f.serve(await startH2Server((_req, res) => res.end('h2 body')))
    const transport = f.use(new Transport({ protocols: ['h2c'] }))
    const list = new List()
    const state = recorder(list)
    expect(transport[undiciDispatch]({ origin: server.origin, path: '/', method: 'GET' }, state.handler, undefined, list)).toBe(true)
    await state.settled
    expect(state.calls).toEqual(['connect (listed 1)', 'headers 200 (listed 0)', 'data 7 (listed 0)', 'complete (listed 0)'])
  })

  it('fails a dispatch sent and waiting for its head, and one waiting for a conn, with the reason given to the list’s abort', async () => {
    const server = f.serve(await startHoldingServer())
    const transport = f.use(new Transport({ maxConnsPerHost: 1 }))
    const list = new List()
    const sent = recorder(list)
    transport[undiciDispatch]({ origin: server.origin, path: '/hold', method: 'GET' }, sent.handler, undefined, list)
    await server.holding
    const queued = recorder(list)
    transport[undiciDispatch]({ origin: server.origin, path: '/queued', method: 'GET' }, queued.handler, undefined, list)
    expect(transport.stats().total).toMatchObject({ active: 1, waiting: 1 })
    const reason = new Error('dispatcher destroyed')
    const dispatches = [...list.items]
    expect(dispatches).toHaveLength(2)
    for (const dispatch of dispatches) dispatch.abort(reason)
    await Promise.all([sent.settled, queued.settled])
    expect(list.items.size).toBe(0)
    // Failed once: an abort after the end is not heard.
    for (const dispatch of dispatches) dispatch.abort(new Error('again'))
    expect(sent.errors).toEqual([reason])
    expect(queued.errors).toEqual([reason])
    expect(sent.calls).toEqual(['connect (listed 1)', expect.stringMatching(/^error dispatcher destroyed/)])
    server.release()
    expect(transport.stats().total).toMatchObject({ active: 0, waiting: 0 })
  })

  it('hands failures on as a dispatcher does, the system error carrying the coded one; without a list, the coded error', async () => {
    const origin = `http://127.0.0.1:${await closedPort()}`
    const transport = f.use(new Transport())
    const list = new List()
    const listed = recorder(list)
    transport[undiciDispatch]({ origin, path: '/', method: 'GET' }, listed.handler, undefined, list)
    await listed.settled
    expect(listed.errors[0]).toMatchObject({ code: 'ECONNREFUSED', roundTripError: { code: 'RT_CONNECT_REFUSED' } })
    expect(list.items.size).toBe(0)
    const bare = recorder(list)
    transport[undiciDispatch]({ origin, path: '/', method: 'GET' }, bare.handler)
    await bare.settled
    expect(bare.errors[0]).toMatchObject({ code: 'RT_CONNECT_REFUSED' })
    expect(list.adds).toBe(1)
  })

  it('leaves nothing in the list for a dispatch it declines or fails before it starts (a closed Transport)', async () => {
    const transport = f.use(new Transport())
    const list = new List()
    const declined = recorder(list)
    expect(transport[undiciDispatch]({ origin: 'http://127.0.0.1:1', path: '/', method: 'CONNECT' }, declined.handler, undefined, list)).toBe(false)
    await transport.close()
    const late = recorder(list)
    expect(transport[undiciDispatch]({ origin: 'http://127.0.0.1:1', path: '/', method: 'GET' }, late.handler, undefined, list)).toBe(true)
    expect(late.calls).toEqual(['error RT_TRANSPORT_CLOSED (listed 0)'])
    expect(declined.calls).toEqual([])
    expect(list.adds).toBe(0)
  })
})
