import { Writable } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import { abortBody, createBody, mapBodyError, observeBody, whenBodySettles, type BodyOutcome, type BodySettled, type BodySink } from './body.js'
import { isRoundTripError } from './errors.js'
import { RoundTripResponse, createResponse } from './response.js'

const enc = new TextEncoder()

/** A response whose body arrived whole and unobserved, after the check phase that would have registered it. */
async function arrivedWhole(...parts: string[]): Promise<Response> {
  const { body, sink } = createBody({})
  const response = createResponse(body, {})
  for (const part of parts) sink.push(enc.encode(part))
  sink.end()
  await new Promise((resolve) => setImmediate(resolve))
  return response
}

/** Runs the garbage collector (tests run with --expose-gc) until `done()` or 50 tries. */
async function collectUntil(done: () => boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  expect(gc, 'tests run with --expose-gc').toBeTypeOf('function')
  for (let i = 0; i < 50; i++) {
    gc!()
    await new Promise((resolve) => setImmediate(resolve))
    if (done()) return
  }
}

interface Observed {
  response: Response
  outcomes: Array<{ outcome: BodyOutcome; reason?: unknown }>
  cancelled: unknown[]
}

/** A response whose body createBody makes, fed chunk by chunk on demand. */
function produced(chunks: string[], contentType = 'text/plain'): Observed {
  const cancelled: unknown[] = []
  const queue = chunks.map((c) => enc.encode(c))
  const { body, sink } = createBody({
    pull() {
      const next = queue.shift()
      if (next === undefined) sink.end()
      else sink.push(next)
    },
    cancel: (reason) => cancelled.push(reason),
  })
  const response = createResponse(body, { headers: { 'content-type': contentType }, url: 'http://a.test/' })
  const outcomes: Observed['outcomes'] = []
  const same = observeBody(response, (outcome, reason) => outcomes.push({ outcome, reason }))
  expect(same).toBe(response)
  return { response, outcomes, cancelled }
}

/** A foreign response (not made by createBody), wrapped by observeBody. */
function foreign(chunks: string[], contentType = 'text/plain'): Observed {
  const cancelled: unknown[] = []
  const queue = chunks.map((c) => enc.encode(c))
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift()
      if (next === undefined) controller.close()
      else controller.enqueue(next)
    },
    cancel: (reason) => {
      cancelled.push(reason)
    },
  })
  const original = new Response(body, { status: 203, headers: { 'content-type': contentType } })
  const outcomes: Observed['outcomes'] = []
  const response = observeBody(original, (outcome, reason) => outcomes.push({ outcome, reason }))
  expect(response).not.toBe(original)
  expect(response).toBeInstanceOf(RoundTripResponse)
  expect(response.status).toBe(203)
  expect(response.headers.get('content-type')).toBe(contentType)
  return { response, outcomes, cancelled }
}

const kinds = { produced, foreign }
const parts = ['{"hello":', ' "wor', 'ld"}']
const whole = parts.join('')

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = ''
  const decoder = new TextDecoder()
  for await (const chunk of stream) out += decoder.decode(chunk, { stream: true })
  return out + decoder.decode()
}

describe.each(Object.entries(kinds))('observeBody on a %s body', (_kind, make) => {
  const consumers: Array<[string, (r: Response) => Promise<string>]> = [
    ['text()', (r) => r.text()],
    ['json()', async (r) => JSON.stringify(await r.json()).replace(':', ': ')],
    ['arrayBuffer()', async (r) => new TextDecoder().decode(await r.arrayBuffer())],
    ['blob()', async (r) => (await r.blob()).text()],
    [
      'a reader to the end',
      async (r) => {
        const reader = r.body!.getReader()
        let out = ''
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return out
          out += new TextDecoder().decode(value)
        }
      },
    ],
    ['for await', (r) => readAll(r.body!)],
    [
      'pipeTo',
      async (r) => {
        let out = ''
        await r.body!.pipeTo(new WritableStream({ write: (c) => void (out += new TextDecoder().decode(c)) }))
        return out
      },
    ],
    ['pipeThrough', (r) => readAll(r.body!.pipeThrough(new TransformStream()))],
    [
      'Writable.fromWeb … pipeline',
      async (r) => {
        let out = ''
        const { pipeline } = await import('node:stream/promises')
        const { Readable } = await import('node:stream')
        await pipeline(
          Readable.fromWeb(r.body! as import('node:stream/web').ReadableStream),
          new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }),
        )
        return out
      },
    ],
  ]
  if (typeof (Response.prototype as { bytes?: unknown }).bytes === 'function') {
    consumers.push(['bytes()', async (r) => new TextDecoder().decode(await (r as unknown as { bytes(): Promise<Uint8Array> }).bytes())])
  }

  it.each(consumers)('settles as end when read with %s, with the same bytes', async (_name, consume) => {
    const { response, outcomes } = make(parts)
    expect(outcomes).toEqual([])
    expect(await consume(response)).toBe(whole)
    expect(outcomes.map((o) => o.outcome)).toEqual(['end'])
  })

  it('settles as end when read through formData()', async () => {
    const { response, outcomes } = make(['a=1&b=', 'two'], 'application/x-www-form-urlencoded')
    const form = await response.formData()
    expect(form.get('b')).toBe('two')
    expect(outcomes.map((o) => o.outcome)).toEqual(['end'])
  })

  it('does not settle while a reader has read only part of the body', async () => {
    const { response, outcomes } = make(parts)
    const reader = response.body!.getReader()
    await reader.read()
    expect(outcomes).toEqual([])
    await reader.cancel(new Error('enough'))
    expect(outcomes.map((o) => o.outcome)).toEqual(['cancel'])
  })

  it('settles as cancel with the reason when body.cancel() is called, and tells the producer', async () => {
    const { response, outcomes, cancelled } = make(parts)
    const reason = new Error('not interested')
    await response.body!.cancel(reason)
    expect(outcomes).toEqual([{ outcome: 'cancel', reason }])
    expect(cancelled).toEqual([reason])
  })

  it('settles as end after clone() once both branches are read', async () => {
    const { response, outcomes } = make(parts)
    const copy = response.clone()
    expect(copy.url).toBe(response.url)
    expect(await copy.text()).toBe(whole)
    expect(await response.text()).toBe(whole)
    expect(outcomes.map((o) => o.outcome)).toEqual(['end'])
  })

  it('settles as cancel after clone() once both branches are cancelled', async () => {
    const { response, outcomes } = make(parts)
    const copy = response.clone()
    // A tee's cancel() resolves only once both branches are cancelled.
    const first = copy.body!.cancel()
    await new Promise((resolve) => setImmediate(resolve))
    expect(outcomes).toEqual([])
    await Promise.all([first, response.body!.cancel()])
    expect(outcomes.map((o) => o.outcome)).toEqual(['cancel'])
  })

  it('settles as collected when the unread body is garbage-collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function')
    const outcomes: BodyOutcome[] = []
    ;(() => {
      const { response } = make(parts)
      observeBody(response, (o) => outcomes.push(o))
    })()
    for (let i = 0; i < 50 && outcomes.length === 0; i++) {
      gc!()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(outcomes).toEqual(['collected'])
  })

  it('cancels an open producer whose unobserved response is garbage-collected', async () => {
    const cancelled: unknown[] = []
    ;(() => {
      const { body, sink } = createBody({ cancel: (reason) => cancelled.push(reason) })
      createResponse(body, {})
      sink.push(enc.encode('more to come'))
    })()
    await collectUntil(() => cancelled.length > 0)
    expect(cancelled).toHaveLength(1)
    expect(isRoundTripError(cancelled[0], 'RT_BODY_COLLECTED')).toBe(true)
  })

  it('releases an open producer on GC while the test fakes timers', async () => {
    const cancelled: unknown[] = []
    const tick = setImmediate
    vi.useFakeTimers()
    try {
      ;(() => {
        const { body, sink } = createBody({ cancel: (reason) => cancelled.push(reason) })
        createResponse(body, {})
        sink.push(enc.encode('more to come'))
      })()
      for (let i = 0; i < 50 && cancelled.length === 0; i++) {
        ;(globalThis as { gc?: () => void }).gc!()
        await new Promise((resolve) => tick(resolve))
      }
    } finally {
      vi.useRealTimers()
    }
    expect(cancelled).toHaveLength(1)
  })

  it('releases an open producer when a response and its clone are dropped while the tee waits for data', async () => {
    // clone() tees, and the tee's read waits on the stalled producer: that
    // wait must not keep the responses reachable from the producer.
    const cancelled: unknown[] = []
    let sink: BodySink | undefined
    ;(() => {
      const made = createBody({ cancel: (reason) => cancelled.push(reason) })
      sink = made.sink
      createResponse(made.body, {}).clone()
    })()
    await collectUntil(() => cancelled.length > 0)
    expect(cancelled).toHaveLength(1)
    expect(sink!.outcome).toBe('collected')
  })

  it('finishes text() on a response nobody holds any more, across a GC (fetch(url).then((r) => r.text()))', async () => {
    const cancelled: unknown[] = []
    let sink: BodySink | undefined
    const text = (() => {
      const made = createBody({ cancel: (reason) => cancelled.push(reason) })
      sink = made.sink
      return createResponse(made.body, {}).text()
    })()
    sink!.push(enc.encode('first '))
    await collectUntil(() => cancelled.length > 0)
    expect(cancelled).toEqual([])
    sink!.push(enc.encode('second'))
    sink!.end()
    expect(await text).toBe('first second')
    expect(sink!.outcome).toBe('end')
  })

  it('reports collected for a body that had fully arrived before it was observed', async () => {
    // The producer ended in the task that made the response, so nothing was
    // registered then; observing it later must still see it collected.
    const outcomes: BodyOutcome[] = []
    await (async () => {
      observeBody(await arrivedWhole('whole'), (o) => outcomes.push(o))
    })()
    await collectUntil(() => outcomes.length > 0)
    expect(outcomes).toEqual(['collected'])
  })

  it('does not settle a body while its original is alive, after an observed clone is collected', async () => {
    // Fully arrived and unobserved at the check phase, so not registered
    // then; a clone made later and observed alone must not be taken for the
    // last holder of the body.
    const response = await arrivedWhole('still ', 'here')
    const outcomes: BodyOutcome[] = []
    ;(() => {
      observeBody(response.clone(), (o) => outcomes.push(o))
    })()
    await collectUntil(() => outcomes.length > 0)
    expect(outcomes).toEqual([])
    expect(await response.text()).toBe('still here')
  })

  it('watches the owning response, not a plain Response observed over its stream', async () => {
    const response = await arrivedWhole('still ', 'here')
    const outcomes: BodyOutcome[] = []
    ;(() => {
      const wrapper = new Response(response.body, response)
      observeBody(wrapper, (o) => outcomes.push(o))
    })()
    await collectUntil(() => outcomes.length > 0)
    expect(outcomes).toEqual([])
    expect(await response.text()).toBe('still here')
  })

  it('keeps the bytes of a body that fully arrived, read after a GC', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    sink.push(enc.encode('kept'))
    sink.end()
    await collectUntil(() => true)
    expect(await response.text()).toBe('kept')
  })

  it('calls an observer added after the body settled at once, with the outcome', async () => {
    const { response } = make(parts)
    await response.text()
    const late: BodyOutcome[] = []
    observeBody(response, (o) => late.push(o))
    expect(late).toEqual(['end'])
  })
})

describe('observeBody', () => {
  it('settles a null body as end before returning the same response', () => {
    const response = new Response(null, { status: 204 })
    const outcomes: BodyOutcome[] = []
    expect(observeBody(response, (o) => outcomes.push(o))).toBe(response)
    expect(outcomes).toEqual(['end'])
  })

  it('rejects a response whose body is already locked, with RT_BODY_USED', () => {
    const response = new Response('x')
    response.body!.getReader()
    let error: unknown
    try {
      observeBody(response, () => {})
    } catch (e) {
      error = e
    }
    expect(isRoundTripError(error, 'RT_BODY_USED')).toBe(true)
  })

  it('keeps the type of a foreign response it wraps', async () => {
    const original = new Response(new ReadableStream({ start: (c) => c.close() }))
    Object.defineProperty(original, 'type', { value: 'basic' })
    expect(observeBody(original, () => {}).type).toBe('basic')
  })

  it('tells observers, listener objects (as methods) and followers in one list, in the order they came, once each (five of them)', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const told: string[] = []
    class Listener {
      constructor(readonly name: string) {}
      bodySettled(outcome: BodyOutcome, _reason?: unknown, settled?: BodySettled): void {
        told.push(`${this.name} ${outcome} ${settled?.decodedBytes}`)
      }
    }
    observeBody(response, new Listener('first'))
    whenBodySettles(response, (settled) => told.push(`follower ${settled.outcome} ${settled.decodedBytes}`))
    observeBody(response, (outcome) => told.push(`function ${outcome}`))
    observeBody(response, new Listener('fourth'))
    observeBody(response, new Listener('last'))
    sink.push(enc.encode('abc'))
    sink.end()
    expect(await response.text()).toBe('abc')
    observeBody(response, new Listener('late'))
    expect(told).toEqual(['first end 3', 'follower end 3', 'function end', 'fourth end 3', 'last end 3', 'late end 3'])
  })

  it('calls a listener object on a foreign response and on a null body, with the sizes', async () => {
    const told: string[] = []
    const listener = { bodySettled: (outcome: BodyOutcome, _reason?: unknown, settled?: BodySettled) => told.push(`${outcome} ${settled?.decodedBytes}`) }
    observeBody(new Response(null, { status: 204 }), listener)
    await observeBody(new Response('x'), listener).body!.cancel()
    const read = observeBody(new Response('four'), listener)
    expect(await read.text()).toBe('four')
    expect(told).toEqual(['end 0', 'cancel 0', 'end 4'])
  })

  it('passes the same chunk objects through a foreign body (no copies)', async () => {
    const chunk = enc.encode('zero-copy')
    const original = new Response(new ReadableStream({ start: (c) => (c.enqueue(chunk), c.close()) }))
    const response = observeBody(original, () => {})
    const { value } = await response.body!.getReader().read()
    expect(value).toBe(chunk)
  })

  it('settles a foreign body that errors as error, and the read rejects', async () => {
    const failure = new Error('socket hang up')
    const original = new Response(new ReadableStream({ pull: (c) => c.error(failure) }))
    const outcomes: Array<[BodyOutcome, unknown]> = []
    const response = observeBody(original, (o, r) => outcomes.push([o, r]))
    await expect(response.text()).rejects.toBe(failure)
    expect(outcomes).toEqual([['error', failure]])
  })
})

describe('createBody', () => {
  it('reads a body that arrived whole as Response does: json() of bad JSON rejects, a second read rejects, the body settles once', async () => {
    const outcomes: BodyOutcome[] = []
    const response = observeBody(await arrivedWhole('{"a":', ' oops'), (o) => outcomes.push(o))
    let pending: Promise<unknown> | undefined
    expect(() => (pending = response.json())).not.toThrow()
    await expect(pending).rejects.toThrow(SyntaxError)
    expect(outcomes).toEqual(['end'])
    await expect(response.text()).rejects.toThrow(/Body is unusable/)
    const again = await arrivedWhole('fine')
    const text = again.text()
    expect(again.bodyUsed).toBe(true)
    expect(await text).toBe('fine')
    expect(new Uint8Array(await (await arrivedWhole('a', 'b')).arrayBuffer())).toEqual(enc.encode('ab'))
  })

  it('asks the producer to pause past the high-water mark and to resume once drained', async () => {
    let pulls = 0
    const { body, sink } = createBody({ pull: () => void pulls++ }, { highWaterMark: 8 })
    const stream = createResponse(body, {}).body!
    expect(sink.push(enc.encode('1234'))).toBe(true)
    expect(sink.push(enc.encode('5678'))).toBe(false)
    const reader = stream.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('1234')
    expect(pulls).toBe(1)
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('5678')
    sink.end()
    expect((await reader.read()).done).toBe(true)
    expect(sink.outcome).toBe('end')
  })

  it('delivers what was queued before an error, then rejects the read with it', async () => {
    const { body, sink } = createBody({})
    const stream = createResponse(body, {}).body!
    sink.push(enc.encode('partial'))
    const failure = new Error('truncated')
    sink.error(failure)
    expect(sink.outcome).toBe('error')
    const reader = stream.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('partial')
    await expect(reader.read()).rejects.toBe(failure)
  })

  it('does not call the producer’s cancel after the producer ended', async () => {
    const cancelled: unknown[] = []
    const { body, sink } = createBody({ cancel: (r) => cancelled.push(r) })
    const stream = createResponse(body, {}).body!
    sink.push(enc.encode('x'))
    sink.end()
    await stream.cancel('late')
    expect(cancelled).toEqual([])
    expect(sink.outcome).toBe('cancel')
    expect(sink.push(enc.encode('dropped'))).toBe(false)
  })

  it('rejects a non-positive high-water mark', () => {
    expect(() => createBody({}, { highWaterMark: 0 })).toThrow(RangeError)
  })
})

describe('abortBody', () => {
  it('rejects a read in progress, tells the producer and settles as cancel', async () => {
    const cancelled: unknown[] = []
    const { body } = createBody({ cancel: (r) => cancelled.push(r) })
    const response = createResponse(body, {})
    const outcomes: BodyOutcome[] = []
    observeBody(response, (o) => outcomes.push(o))
    const reader = response.body!.getReader()
    const read = reader.read()
    const reason = new Error('reclaimed')
    expect(abortBody(response, reason)).toBe(true)
    await expect(read).rejects.toBe(reason)
    expect(cancelled).toEqual([reason])
    expect(outcomes).toEqual(['cancel'])
    expect(abortBody(response, reason)).toBe(false)
  })

  it('rejects text() waiting for the rest of the body', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    sink.push(enc.encode('part'))
    const text = response.text()
    abortBody(response, new Error('gone'))
    await expect(text).rejects.toThrow('gone')
  })

  it('does nothing for a response it cannot reach', () => {
    expect(abortBody(new Response('x'), new Error('no'))).toBe(false)
  })
})

describe('mapBodyError', () => {
  const wrap = (error: unknown): TypeError => new TypeError('terminated', { cause: error })

  it('maps the producer error for text(), a waiting stream read and a clone, and tells observers the error itself', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    expect(mapBodyError(response, wrap)).toBe(true)
    const seen: unknown[] = []
    observeBody(response, (_o, reason) => seen.push(reason))
    const clone = response.clone()
    sink.push(enc.encode('half'))
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('half')
    const waiting = reader.read()
    const cloneText = clone.text()
    const error = new Error('socket closed')
    sink.error(error)
    const mapped = await waiting.then(() => undefined, (e: unknown) => e)
    expect(mapped).toBeInstanceOf(TypeError)
    expect((mapped as Error).cause).toBe(error)
    await expect(cloneText).rejects.toBe(mapped)
    expect(seen).toEqual([error])
  })

  it('maps an error that came before the read', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    mapBodyError(response, wrap)
    sink.error(new Error('gone'))
    await expect(response.text()).rejects.toThrow(TypeError)
  })

  it('leaves aborts as they are', async () => {
    const { body } = createBody({})
    const response = createResponse(body, {})
    mapBodyError(response, wrap)
    const text = response.text()
    const reason = new RangeError('stop')
    abortBody(response, reason)
    await expect(text).rejects.toBe(reason)
  })

  it('does nothing for a response it cannot reach', () => {
    expect(mapBodyError(new Response('x'), wrap)).toBe(false)
  })
})

describe('whenBodySettles', () => {
  it('tells the end once, with the bytes pushed and the wire size the producer gave', async () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const told: unknown[] = []
    expect(whenBodySettles(response, (settled) => told.push(settled))).toBe(true)
    sink.push(enc.encode('abc'))
    sink.push(enc.encode('de'))
    sink.end(3)
    expect(told).toEqual([])
    expect(await response.text()).toBe('abcde')
    expect(told).toEqual([{ outcome: 'end', decodedBytes: 5, encodedBytes: 3 }])
  })

  it('tells a cancel with the bytes read so far, and tells at once a body already settled', async () => {
    const response = await arrivedWhole('xy', 'z')
    const told: unknown[] = []
    whenBodySettles(response, (settled) => told.push(settled))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    whenBodySettles(response, (settled) => told.push(settled))
    expect(told).toEqual([
      { outcome: 'cancel', decodedBytes: 2, encodedBytes: 3 },
      { outcome: 'cancel', decodedBytes: 2, encodedBytes: 3 },
    ])
  })

  it('does nothing for a response it cannot reach', () => {
    expect(whenBodySettles(new Response('x'), () => {})).toBe(false)
  })
})
