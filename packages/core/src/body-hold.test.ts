import { describe, expect, it } from 'vitest'
import { createBody, observeBody, type BodyListener, type BodyOutcome } from './body.js'
import { bodyHold } from './body-hold.js'
import { createResponse } from './response.js'

const enc = new TextEncoder()

/** A listener that writes down, in order, what it was told. */
class Log implements BodyListener {
  readonly events: string[] = []
  bodySettled(outcome: BodyOutcome): void {
    this.events.push(outcome)
  }
  bodyReleased(): void {
    this.events.push('released')
  }
}

function held(pool = 'http://a.test:80') {
  const cancelled: unknown[] = []
  const { body, sink } = createBody({ cancel: (reason) => cancelled.push(reason) })
  sink.hold(pool)
  return { response: createResponse(body, { url: 'http://a.test/' }), sink, cancelled }
}

describe('bodyHold: what a producer declared the body holds', () => {
  it('names the pool while held, and says released once the producer let go, before the body is read', async () => {
    const { response, sink } = held()
    expect(bodyHold(response)).toEqual({ pool: 'http://a.test:80', released: false })
    sink.push(enc.encode('abc'))
    sink.release()
    // The consumer has read nothing and the body has not ended: the connection is free all the same.
    expect(bodyHold(response)).toEqual({ pool: 'http://a.test:80', released: true })
    expect(response.bodyUsed).toBe(false)
    sink.end()
    expect(await response.text()).toBe('abc')
    expect(bodyHold(response)).toEqual({ pool: 'http://a.test:80', released: true })
  })

  it('is undefined for a body whose producer declared nothing, for a null body and for a plain Response', () => {
    const { body } = createBody({})
    expect(bodyHold(createResponse(body, {}))).toBeUndefined()
    expect(bodyHold(createResponse(null, { status: 204 }))).toBeUndefined()
    expect(bodyHold(new Response('x'))).toBeUndefined()
  })

  it('is shared by a clone: both branches see the same hold', () => {
    const { response, sink } = held()
    const copy = response.clone()
    sink.release()
    expect(bodyHold(copy)).toEqual({ pool: 'http://a.test:80', released: true })
    expect(bodyHold(response)).toEqual(bodyHold(copy))
  })

  it('tells a listener released while the body is open, before it settles, once', async () => {
    const { response, sink } = held()
    const log = new Log()
    observeBody(response, log)
    sink.push(enc.encode('abc'))
    sink.release()
    sink.release()
    expect(log.events).toEqual(['released'])
    sink.end()
    await response.text()
    expect(log.events).toEqual(['released', 'end'])
  })

  it('does not tell a listener registered after the release (bodyHold says it), nor one whose body settled first', async () => {
    const late = held()
    late.sink.release()
    const log = new Log()
    observeBody(late.response, log)
    expect(bodyHold(late.response)?.released).toBe(true)
    const cancelled = held()
    const early = new Log()
    observeBody(cancelled.response, early)
    await cancelled.response.body!.cancel('not wanted')
    // The producer is told to stop, then lets go of its connection: the body had settled.
    expect(cancelled.cancelled).toEqual(['not wanted'])
    cancelled.sink.release()
    expect(early.events).toEqual(['cancel'])
    expect(bodyHold(cancelled.response)?.released).toBe(true)
    expect(log.events).toEqual([])
  })

  it('ignores a release without a hold, and calls listeners without bodyReleased or observer functions only when it settles', () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, {})
    const outcomes: BodyOutcome[] = []
    observeBody(response, (outcome) => outcomes.push(outcome))
    observeBody(response, { bodySettled: (outcome: BodyOutcome) => outcomes.push(outcome) })
    sink.release()
    expect(bodyHold(response)).toBeUndefined()
    sink.error(new Error('boom'))
    expect(outcomes).toEqual(['error', 'error'])
  })

  it('rejects a second hold as an internal error, and a pool that is not a string or a reused that is not a boolean with a TypeError', () => {
    const { sink } = held()
    expect(() => sink.hold('http://b.test:80')).toThrow(/internal error: BodySink.hold called twice/)
    const other = createBody({})
    expect(() => other.sink.hold(42 as never)).toThrow(TypeError)
    expect(() => other.sink.hold('http://a.test:80', 'yes' as never)).toThrow(/reused must be a boolean/)
  })

  it('tells whether the connection was reused when the producer said so, on the response and its clones, before and after release', async () => {
    for (const reused of [false, true]) {
      const { body, sink } = createBody({})
      sink.hold('http://a.test:80', reused)
      const response = createResponse(body, { url: 'http://a.test/' })
      const clone = response.clone()
      expect(bodyHold(response)).toEqual({ pool: 'http://a.test:80', released: false, reused })
      sink.push(enc.encode('x'))
      sink.release()
      sink.end()
      expect(bodyHold(clone)).toEqual({ pool: 'http://a.test:80', released: true, reused })
      expect(await response.text()).toBe('x')
      await clone.text()
    }
    // Not said: the key is absent, not false.
    expect(bodyHold(held().response)).not.toHaveProperty('reused')
  })

  it('a response without a body gives the hold its producer passed (createResponse hold), as it is; none without one or with a body', () => {
    const hold = Object.freeze({ pool: 'http://a.test:80', released: true, reused: true })
    const head = createResponse(null, { status: 200, url: 'http://a.test/', hold })
    expect(bodyHold(head)).toBe(hold)
    expect(bodyHold(createResponse(null, { status: 204, hold }))).toBe(hold)
    expect(bodyHold(createResponse(null, { status: 204 }))).toBeUndefined()
    // With a body, the hold is the body's to declare: a given one is ignored.
    expect(bodyHold(createResponse('x', { hold }))).toBeUndefined()
    expect(bodyHold(new Response(null))).toBeUndefined()
  })
})
