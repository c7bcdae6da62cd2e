import { describe, expect, it } from 'vitest'
import { abortBody, createBody } from './body.js'
import { isBodyComplete, isBodyUnread } from './body-unread.js'
import { createResponse } from './response.js'

const enc = new TextEncoder()

function lazy(): Response {
  const { body, sink } = createBody({})
  sink.push(enc.encode('hello'))
  sink.end()
  return createResponse(body, { status: 200 })
}

describe('isBodyUnread', () => {
  it('sees a frozen response locked or used', async () => {
    const locked = Object.freeze(lazy())
    expect(isBodyUnread(locked)).toBe(true)
    locked.body!.getReader()
    expect(isBodyUnread(locked)).toBe(false)
    const cloned = Object.freeze(lazy())
    cloned.clone()
    cloned.body!.getReader()
    expect(isBodyUnread(cloned)).toBe(false)
  })

  it('is true for a lazy body nobody touched, and false once it is read, cancelled, aborted or locked', async () => {
    const fresh = lazy()
    expect(isBodyUnread(fresh)).toBe(true)
    expect(await fresh.text()).toBe('hello')
    expect(isBodyUnread(fresh)).toBe(false)

    const cancelled = lazy()
    await cancelled.body!.cancel()
    expect(isBodyUnread(cancelled)).toBe(false)

    const aborted = lazy()
    abortBody(aborted, new Error('reclaimed'))
    expect(isBodyUnread(aborted)).toBe(false)

    const locked = lazy()
    const reader = locked.body!.getReader()
    expect(isBodyUnread(locked)).toBe(false)
    reader.releaseLock()
    expect(isBodyUnread(locked)).toBe(true)
  })

  it('follows each branch of a clone: locking one leaves the other unread', () => {
    const original = lazy()
    const copy = original.clone()
    expect(isBodyUnread(original)).toBe(true)
    copy.body!.getReader()
    expect(isBodyUnread(copy)).toBe(false)
    expect(isBodyUnread(original)).toBe(true)
  })

  it('reads bodyUsed and the stream of any other response, and is false without a body', async () => {
    const plain = new Response('x')
    expect(isBodyUnread(plain)).toBe(true)
    await plain.text()
    expect(isBodyUnread(plain)).toBe(false)
    expect(isBodyUnread(new Response(null))).toBe(false)
    expect(isBodyUnread(createResponse(null, { status: 204 }))).toBe(false)
  })
})

describe('isBodyComplete', () => {
  it('is true once the producer ended and nobody read, false while it streams', () => {
    const { body, sink } = createBody({})
    const response = createResponse(body, { status: 200 })
    sink.push(enc.encode('hel'))
    expect(isBodyComplete(response)).toBe(false)
    sink.push(enc.encode('lo'))
    sink.end()
    expect(isBodyComplete(response)).toBe(true)
  })

  it('is false once the body is read, locked, cancelled, aborted or failed', async () => {
    const read = lazy()
    expect(await read.text()).toBe('hello')
    expect(isBodyComplete(read)).toBe(false)

    const locked = lazy()
    const reader = locked.body!.getReader()
    expect(isBodyComplete(locked)).toBe(false)
    reader.releaseLock()
    expect(isBodyComplete(locked)).toBe(true)

    const cancelled = lazy()
    await cancelled.body!.cancel()
    expect(isBodyComplete(cancelled)).toBe(false)

    const aborted = lazy()
    abortBody(aborted, new Error('reclaimed'))
    expect(isBodyComplete(aborted)).toBe(false)

    const { body, sink } = createBody({})
    const failed = createResponse(body, { status: 200 })
    sink.push(enc.encode('he'))
    sink.error(new Error('reset'))
    expect(isBodyComplete(failed)).toBe(false)
  })

  it('is false for a response not over a tracked body, and without a body', () => {
    expect(isBodyComplete(new Response('x'))).toBe(false)
    expect(isBodyComplete(new Response(null))).toBe(false)
    expect(isBodyComplete(createResponse(null, { status: 204 }))).toBe(false)
  })
})
