import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { attachHooks, callSignal } from './call-hooks.js'
import { CallAbortController, neverAborted, neverAborts, withUnabortableSignal } from './call-signal.js'
import { carryRequest, deriveRequest, withContext } from './context.js'
import { delay } from './delay.js'

describe('a request declared unabortable', () => {
  it('has neverAborted as its call signal, and keeps its own request.signal', () => {
    const request = withUnabortableSignal(new Request('http://a.test/'))
    expect(callSignal(request)).toBe(neverAborted)
    expect(neverAborts(callSignal(request))).toBe(true)
    // WHATWG's member is untouched: a layer that reads it still finds an AbortSignal.
    expect(request.signal).toBeInstanceOf(AbortSignal)
    expect(request.signal.aborted).toBe(false)
  })

  it('neverAborted is inert: not aborted, no reason, listeners never kept', () => {
    expect(neverAborted.aborted).toBe(false)
    expect(neverAborted.reason).toBeUndefined()
    expect(() => neverAborted.throwIfAborted()).not.toThrow()
    let called = 0
    neverAborted.addEventListener('abort', () => void called++)
    expect(called).toBe(0)
    expect(Object.isFrozen(neverAborted)).toBe(true)
  })

  it('a request not declared keeps request.signal as its call signal, and it aborts', () => {
    const controller = new AbortController()
    const request = new Request('http://a.test/', { signal: controller.signal })
    expect(callSignal(request)).toBe(request.signal)
    expect(neverAborts(callSignal(request))).toBe(false)
    controller.abort('caller')
    expect(callSignal(request).aborted).toBe(true)
    expect(callSignal(request).reason).toBe('caller')
    // A Request made by a user without any signal is not declared either: it is listened to as before.
    expect(neverAborts(callSignal(new Request('http://a.test/')))).toBe(false)
  })

  it('an attached signal is the call signal over the declaration', () => {
    const request = withUnabortableSignal(new Request('http://a.test/'))
    const deadline = new CallAbortController(callSignal(request))
    const detach = attachHooks(request, deadline)
    expect(callSignal(request)).toBe(deadline.signal)
    detach()
    expect(callSignal(request)).toBe(neverAborted)
  })

  it('a CallAbortController over neverAborted still aborts on its own, calling its listeners once', async () => {
    const request = withUnabortableSignal(new Request('http://a.test/'))
    const deadline = new CallAbortController(callSignal(request))
    attachHooks(request, deadline)
    let fired = 0
    deadline.signal.addEventListener('abort', () => void fired++)
    const waiting = delay(60_000, callSignal(request))
    deadline.abort(new DOMException('late', 'TimeoutError'))
    deadline.abort(new DOMException('again', 'TimeoutError'))
    await expect(waiting).rejects.toMatchObject({ name: 'TimeoutError', message: 'late' })
    expect(fired).toBe(1)
    // And nothing ever listened to the request's own signal.
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })

  it('a derived request keeps the declaration, unless it is given a signal of its own, which aborts it', () => {
    const request = withUnabortableSignal(withContext(new Request('http://a.test/'), { decompress: false }))
    expect(callSignal(deriveRequest(request))).toBe(neverAborted)
    expect(callSignal(deriveRequest(request, { headers: { 'x-a': '1' } }))).toBe(neverAborted)
    const own = new AbortController()
    const derived = deriveRequest(request, { signal: own.signal })
    expect(callSignal(derived)).toBe(derived.signal)
    own.abort('mine')
    expect(callSignal(derived).reason).toBe('mine')
  })

  it('a frozen request cannot be declared: it keeps request.signal as its call signal', () => {
    const request = withUnabortableSignal(Object.freeze(new Request('http://a.test/')))
    expect(callSignal(request)).toBe(request.signal)
  })

  it('carryRequest does not carry it: a request built anew may follow a signal that aborts', () => {
    const request = withUnabortableSignal(withContext(new Request('http://a.test/'), { decompress: false }))
    const own = new AbortController()
    const next = carryRequest(request, new Request('http://a.test/next', { signal: own.signal }), { body: false })
    expect(callSignal(next)).toBe(next.signal)
    own.abort('mine')
    expect(callSignal(next).aborted).toBe(true)
  })
})

describe('CallAbortController over a signal that never aborts', () => {
  it('aborts with its own reason and calls the listeners still added', () => {
    const controller = new CallAbortController(neverAborted)
    const listener = (): void => {}
    controller.signal.addEventListener('abort', listener)
    controller.signal.removeEventListener('abort', listener)
    let fired = 0
    controller.signal.addEventListener('abort', () => void fired++)
    controller.abort('deadline')
    expect(controller.signal.reason).toBe('deadline')
    expect(fired).toBe(1)
  })
})

describe('CallAbortController over an AbortSignal', () => {
  it('calls the listeners still added in the order they came, and listens to its parent only while it has some', () => {
    const parent = new AbortController()
    const controller = new CallAbortController(parent.signal)
    const calls: string[] = []
    const a = (): void => void calls.push('a')
    const b = (): void => void calls.push('b')
    const c = (): void => void calls.push('c')
    controller.signal.addEventListener('abort', a)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1)
    controller.signal.removeEventListener('abort', a)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
    controller.signal.addEventListener('abort', a)
    controller.signal.addEventListener('abort', b)
    controller.signal.addEventListener('abort', c)
    controller.signal.removeEventListener('abort', b)
    controller.signal.removeEventListener('abort', () => {})
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1)
    parent.abort('caller')
    expect(calls).toEqual(['a', 'c'])
    expect(controller.signal.reason).toBe('caller')
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
  })

  it('stops listening to its parent once its last listener is removed, whichever order they go in', () => {
    const parent = new AbortController()
    const controller = new CallAbortController(parent.signal)
    const a = (): void => {}
    const b = (): void => {}
    controller.signal.addEventListener('abort', a)
    controller.signal.addEventListener('abort', b)
    controller.signal.removeEventListener('abort', a)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1)
    controller.signal.removeEventListener('abort', b)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
  })
})
