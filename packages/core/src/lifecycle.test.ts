import { describe, expect, it, vi } from 'vitest'
import { createBody, observeBody, type BodyOutcome, type BodySink } from './body.js'
import { createResponse } from './response.js'

const enc = new TextEncoder()
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Runs the collector (tests run with --expose-gc) and the check phase `times` times. */
async function collect(times = 10): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  expect(gc, 'tests run with --expose-gc').toBeTypeOf('function')
  for (let i = 0; i < times; i++) {
    gc!()
    await tick()
  }
}

describe('a body read through its stream', () => {
  it('keeps a read going when nobody holds the response and the producer stalls across a GC', async () => {
    let sink: BodySink | undefined
    const outcomes: BodyOutcome[] = []
    const cancelled: unknown[] = []
    // As `for await (const c of (await fetch(url)).body)` inside a function nothing else holds.
    const consumed = (async () => {
      const made = createBody({ cancel: (reason) => cancelled.push(reason) })
      sink = made.sink
      const response = observeBody(createResponse(made.body, {}), (o) => outcomes.push(o))
      let text = ''
      for await (const chunk of response.body!) text += new TextDecoder().decode(chunk)
      return text
    })()
    sink!.push(enc.encode('first '))
    await collect()
    expect(cancelled).toEqual([])
    sink!.push(enc.encode('second'))
    sink!.end()
    expect(await consumed).toBe('first second')
    expect(outcomes).toEqual(['end'])
  })

  it('errors a stream opened after text() as unusable, and text() still gets every byte', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const text = response.text()
    sink.push(enc.encode('all '))
    await expect(response.body!.getReader().read()).rejects.toThrow(/unusable/)
    sink.push(enc.encode('mine'))
    sink.end()
    expect(await text).toBe('all mine')
    expect(sink.outcome).toBe('end')
  })

  it('leaves text() to finish when body.cancel() is called after it started', async () => {
    const cancelled: unknown[] = []
    const { body, sink } = createBody({ cancel: (reason) => cancelled.push(reason) })
    const response = createResponse(body, {})
    const text = response.text()
    await response.body!.cancel()
    sink.push(enc.encode('whole'))
    sink.end()
    expect(await text).toBe('whole')
    expect(cancelled).toEqual([])
    expect(sink.outcome).toBe('end')
  })
})

describe('clone()', () => {
  it('does not read a body that fully arrived: a never-read clone pair stays open', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    sink.push(enc.encode('arrived'))
    sink.end()
    const copy = response.clone()
    await tick()
    expect(sink.outcome).toBeUndefined()
    // Read to its end through one branch (the other holds the bytes): that is the body's end.
    expect(await copy.text()).toBe('arrived')
    expect(sink.outcome).toBe('end')
    expect(await response.text()).toBe('arrived')
  })

  it('counts a branch as used once it is read, as Response does', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const copy = response.clone()
    sink.push(enc.encode('x'))
    await copy.body!.getReader().read()
    expect(copy.bodyUsed).toBe(true)
    expect(response.bodyUsed).toBe(false)
    expect(() => copy.clone()).toThrow(TypeError)
  })

  it('reads nothing from the producer until a branch is read', async () => {
    let pulls = 0
    const { body, sink } = createBody({ pull: () => void pulls++ })
    const response = createResponse(body, {})
    const copy = response.clone()
    await tick()
    expect(pulls).toBe(0)
    const read = copy.body!.getReader().read()
    await tick()
    expect(pulls).toBe(1)
    sink.push(enc.encode('x'))
    expect((await read).value).toEqual(enc.encode('x'))
  })

  it('rejects both branches with the producer error', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const copy = response.clone()
    const failure = Object.assign(new Error('reset'), { code: 'ECONNRESET' })
    const texts = [response.text(), copy.text()]
    sink.error(failure)
    for (const text of texts) await expect(text).rejects.toBe(failure)
  })
})

describe('two installed copies of core', () => {
  it('share responses, bodies and request contexts', async () => {
    const a = await import('./index.js')
    vi.resetModules()
    const b = await import('./index.js')
    expect(b.createBody).not.toBe(a.createBody)

    const { body, sink } = a.createBody({})
    const response = b.createResponse(body, { url: 'http://a.test/' })
    const outcomes: BodyOutcome[] = []
    expect(a.observeBody(response, (o) => outcomes.push(o))).toBe(response)
    expect(b.withResponseInfo(response, { redirected: true })).toBe(response)
    expect(response.redirected).toBe(true)
    const reason = new Error('reclaimed')
    expect(a.abortBody(response, reason)).toBe(true)
    expect(outcomes).toEqual(['cancel'])
    expect(sink.outcome).toBe('cancel')

    const request = a.withContext(new Request('http://a.test/'), {})
    const derived = b.deriveRequest(request, {}, {})
    expect(b.getContext(request)).toBe(a.getContext(request))
    expect(a.getContext(derived)).toEqual({})
  })
})
