import { describe, expect, it } from 'vitest'
import { abortBody, createBody } from './body.js'
import { isBodyUnread } from './body-unread.js'
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
