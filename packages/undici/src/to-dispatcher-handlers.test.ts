import { request, type Dispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { bytesOf, modernHandler, PATHS, useDispatchFixture } from '../test/dispatch-fixture.js'
import { nextTurn, startServer } from '../test/server.js'
import { toDispatcher } from './to-dispatcher.js'

// toDispatcher's handler side: both of undici's handler generations (pause, resume, abort, HEAD and 204), and destroy().
const f = useDispatchFixture()

// Each behaviour on both paths: a bare Transport takes dispatches itself (core's undiciDispatch), a stack gets a Request.
describe.each(PATHS)('toDispatcher: handler generations (%s)', (_path, make) => {
  it('pauses on a legacy onHeaders returning false until resume() is called', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(make()))
    let resume!: () => void
    let received = 0
    let resolve!: () => void
    const done = new Promise<void>((r) => (resolve = r))
    dispatcher.dispatch({ origin: server.origin, path: '/large', method: 'GET' }, {
      onConnect() {},
      onHeaders(_status, _raw, r) {
        resume = r
        return false
      },
      onData(chunk) {
        received += chunk.length
        return true
      },
      onComplete: () => resolve(),
      onError: (error) => {
        throw error
      },
    })
    while (f.writer === undefined) await nextTurn()
    await f.writer.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(received).toBe(0)
    expect(f.writer!.written).toBeLessThan(16 * 1024 * 1024)
    resume()
    await done
    expect(received).toBe(16 * 1024 * 1024)
  })

  it('holds a small body back too until a legacy handler resumes', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(make()))
    const events: string[] = []
    let resume!: () => void
    const done = new Promise<void>((resolve) => {
      dispatcher.dispatch({ origin: server.origin, path: '/small', method: 'GET' }, {
        onConnect() {},
        onHeaders(status, _raw, r) {
          events.push(`head ${status}`)
          resume = r
          return false
        },
        onData(chunk) {
          events.push(`data ${chunk.toString()}`)
          return true
        },
        onComplete() {
          events.push('complete')
          resolve()
        },
        onError: (error) => {
          throw error
        },
      })
    })
    while (events.length === 0) await nextTurn()
    for (let i = 0; i < 10; i++) await nextTurn()
    expect(events).toEqual(['head 200'])
    resume()
    await done
    expect(events).toEqual(['head 200', 'data GET /small chunked ', 'complete'])
  })

  it('aborts a paused small body still arriving: the handler hears the reason once, nothing is left unhandled', async () => {
    const server = f.track(await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '10' })
      res.write('01234')
    }))
    const dispatcher = toDispatcher(f.track(make()))
    const errors: Error[] = []
    let abort!: (error?: Error) => void
    let headed!: () => void
    const head = new Promise<void>((r) => (headed = r))
    dispatcher.dispatch({ origin: server.origin, path: '/', method: 'GET' }, {
      onConnect: (a) => (abort = a),
      onHeaders: () => {
        headed()
        return false
      },
      onData: () => {
        throw new Error('no data expected while paused')
      },
      onError: (error) => errors.push(error),
    })
    await head
    abort(new Error('leaving'))
    for (let i = 0; i < 10; i++) await nextTurn()
    expect(errors.map((e) => e.message)).toEqual(['leaving'])
  })

  it('ends a HEAD and a 204 at once, without a body', async () => {
    const server = f.track(await startServer((req, res) => {
      res.statusCode = req.url === '/204' ? 204 : 200
      res.setHeader('content-length', req.url === '/204' ? '0' : '10')
      res.end(req.method === 'HEAD' || req.url === '/204' ? undefined : '0123456789')
    }))
    const dispatcher = toDispatcher(f.track(make()))
    const head = await request(server.origin, { dispatcher, method: 'HEAD' })
    expect([head.statusCode, head.headers['content-length'], await head.body.text()]).toEqual([200, '10', ''])
    const empty = await request(`${server.origin}/204`, { dispatcher })
    expect([empty.statusCode, await empty.body.text()]).toEqual([204, ''])
  })

  it('holds the body back while undici 7’s controller is paused, then streams it all on resume()', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(make()))
    const handler = modernHandler()
    const onData = handler.onResponseData!.bind(handler)
    let paused = false
    handler.onResponseData = (controller, chunk) => {
      onData(controller, chunk)
      if (!paused) {
        paused = true
        controller.pause()
      }
    }
    dispatcher.dispatch({ origin: server.origin, path: '/large', method: 'GET' }, handler)
    while (f.writer === undefined || handler.chunks.length === 0) await nextTurn()
    await f.writer.blocked
    for (let i = 0; i < 20; i++) await nextTurn()
    expect(handler.chunks.length).toBe(1)
    expect(handler.controller!.paused).toBe(true)
    expect(f.writer.written).toBeLessThan(16 * 1024 * 1024)
    handler.controller!.resume()
    await handler.done
    expect(bytesOf(handler.chunks)).toBe(16 * 1024 * 1024)
    expect(handler.events).toEqual(['start', `head 200 ${16 * 1024 * 1024}`, 'end {}'])
  })

  it('aborts through undici 7’s controller: the handler hears the reason and the server sees the connection close', async () => {
    let closed!: () => void
    const serverSawClose = new Promise<void>((r) => (closed = r))
    const server = f.track(await startServer((_req, res) => {
      res.write('first')
      res.on('close', () => closed())
    }))
    const dispatcher = toDispatcher(f.track(make()))
    const handler = modernHandler()
    handler.onResponseData = (controller) => controller.abort(new Error('enough'))
    dispatcher.dispatch({ origin: server.origin, path: '/', method: 'GET' }, handler)
    await handler.done
    expect(handler.events).toEqual(['start', 'head 200 ', 'error enough'])
    expect(handler.controller!.aborted).toBe(true)
    await serverSawClose
  })

  it('aborts before the head through the legacy abort callback', async () => {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(make()))
    const errors: Error[] = []
    await new Promise<void>((resolve) => {
      dispatcher.dispatch({ origin: server.origin, path: '/hang-forever', method: 'GET' }, {
        onConnect(abort) {
          setImmediate(() => abort(new Error('cancelled by caller')))
        },
        onHeaders: () => {
          throw new Error('no head expected')
        },
        onError(error) {
          errors.push(error)
          resolve()
        },
      })
    })
    expect(errors.map((e) => e.message)).toEqual(['cancelled by caller'])
  })
})

describe.each(PATHS)('toDispatcher: destroy() (%s)', (_path, make) => {
  async function held(): Promise<{ dispatcher: Dispatcher; pending: Promise<unknown> }> {
    const server = await f.serve()
    const dispatcher = toDispatcher(f.track(make()))
    const holding = new Promise<void>((resolve) => (f.serverHolding = resolve))
    const pending = request(`${server.origin}/silent`, { dispatcher })
    pending.catch(() => {})
    await holding
    return { dispatcher, pending }
  }

  it('fails a request waiting for its head with the error given to destroy()', async () => {
    const { dispatcher, pending } = await held()
    await dispatcher.destroy(new Error('boom'))
    await expect(pending).rejects.toThrow('boom')
  })

  it('fails it with undici’s ClientDestroyedError without an error', async () => {
    const { dispatcher, pending } = await held()
    await dispatcher.destroy()
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' })
  })
})
