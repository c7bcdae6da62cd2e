import { describe, expect, it } from 'vitest'
import { attachHooks, callHooks, callSignal, callTrace, detachHooks, runCallHooks } from './call-hooks.js'
import { CallAbortController, type CallSignal } from './call-signal.js'
import { deriveRequest, withContext } from './context.js'
import { delay } from './delay.js'

declare module './context.js' {
  interface RequestContext {
    trace?: object
  }
}
declare module './call-hooks.js' {
  interface CallHooks {
    onTest?: (n: number) => void
  }
}

interface Trace {
  gotConn?(info: { reused: boolean }): void
}

describe('call hooks', () => {
  it('callSignal is request.signal until a layer attaches one, the innermost while attached, and request.signal again once detached', () => {
    const request = new Request('http://a.test/')
    expect(callSignal(request)).toBe(request.signal)
    const outer = new AbortController()
    const inner = new AbortController()
    const detachOuter = attachHooks(request, { signal: outer.signal })
    const detachTrace = attachHooks(request, { trace: {} })
    const detachInner = attachHooks(request, { signal: inner.signal })
    expect(callSignal(request)).toBe(inner.signal)
    detachInner()
    detachInner()
    expect(callSignal(request)).toBe(outer.signal)
    detachOuter()
    expect(callSignal(request)).toBe(request.signal)
    expect(callHooks(request, 'trace')).toHaveLength(1)
    detachTrace()
    expect(callHooks(request, 'trace')).toEqual([])
  })

  it('detaches hooks in any order, and works on a request that cannot take a property (frozen)', () => {
    for (const request of [new Request('http://a.test/'), Object.freeze(new Request('http://a.test/'))]) {
      const a = { trace: { name: 'a' } }
      const b = { trace: { name: 'b' } }
      const c = { trace: { name: 'c' } }
      attachHooks(request, a)
      attachHooks(request, b)
      attachHooks(request, c)
      detachHooks(request, b)
      expect(callHooks(request, 'trace')).toEqual([a.trace, c.trace])
      detachHooks(request, a)
      expect(callHooks(request, 'trace')).toEqual([c.trace])
      detachHooks(request, c)
      expect(callHooks(request, 'trace')).toEqual([])
      expect(callSignal(request)).toBe(request.signal)
    }
    // Another request is unaffected by a frozen one's hooks.
    const frozen = Object.freeze(new Request('http://a.test/'))
    attachHooks(frozen, { trace: {} })
    expect(callHooks(new Request('http://a.test/'), 'trace')).toEqual([])
    expect(callHooks(frozen, 'trace')).toHaveLength(1)
  })

  it('are carried to a derived request (a next attempt), signals dropped when it gets its own', () => {
    const request = new Request('http://a.test/')
    const deadline = new AbortController()
    const trace = {}
    attachHooks(request, { signal: deadline.signal, trace })
    const next = deriveRequest(request)
    expect(callSignal(next)).toBe(deadline.signal)
    expect(callHooks(next, 'trace')).toEqual([trace])
    const own = new AbortController()
    const shared = deriveRequest(request, { signal: own.signal })
    expect(callSignal(shared)).toBe(shared.signal)
    expect(callHooks(shared, 'trace')).toEqual([trace])
    // The caller's request keeps its own list.
    expect(callSignal(request)).toBe(deadline.signal)
  })

  it("callTrace calls the context's trace, then each attached one, with its own this (class methods too)", () => {
    const calls: string[] = []
    class Recorder {
      constructor(readonly name: string) {}
      gotConn(info: { reused: boolean }): void {
        calls.push(`${this.name}:${info.reused}`)
      }
    }
    const request = withContext(new Request('http://a.test/'), { trace: new Recorder('context') })
    expect(callTrace<Trace>(request)).toBeInstanceOf(Recorder)
    attachHooks(request, { trace: new Recorder('logger') })
    attachHooks(request, { trace: { gotConn: () => calls.push('plain') } })
    const trace = callTrace<Trace & { wroteRequest?: () => void }>(request)!
    expect(trace.wroteRequest).toBeUndefined()
    trace.gotConn!({ reused: true })
    expect(calls).toEqual(['context:true', 'logger:true', 'plain'])
  })

  it('a throwing hook does not keep the others from being called; its error is thrown after them', () => {
    const calls: string[] = []
    const request = new Request('http://a.test/')
    attachHooks(request, {
      trace: {
        gotConn() {
          throw new Error('first')
        },
      },
    })
    attachHooks(request, { trace: { gotConn: () => calls.push('second') } })
    expect(() => callTrace<Trace>(request)!.gotConn!({ reused: false })).toThrow('first')
    expect(calls).toEqual(['second'])
  })
})

describe('CallAbortController', () => {
  it('aborts with its own reason, or with the parent’s when the parent aborts first; listeners are called once', () => {
    const parent = new AbortController()
    const own = new CallAbortController(parent.signal)
    const calls: string[] = []
    own.signal.addEventListener('abort', () => calls.push(`own ${String(own.signal.reason)}`))
    own.abort('deadline')
    own.abort('again')
    expect(own.signal.aborted).toBe(true)
    expect(own.signal.reason).toBe('deadline')
    expect(() => own.signal.throwIfAborted()).toThrow()

    const followed = new CallAbortController(parent.signal)
    followed.signal.addEventListener('abort', () => calls.push(`followed ${String(followed.signal.reason)}`))
    parent.abort('caller')
    expect(followed.signal.aborted).toBe(true)
    expect(followed.signal.reason).toBe('caller')
    followed.signal.addEventListener('abort', () => calls.push('too late'))
    expect(calls).toEqual(['own deadline', 'followed caller'])
  })

  it('listens to its parent only while it has listeners of its own', () => {
    const parent = new CallAbortController(new AbortController().signal)
    // The parent as the child sees it, counting the listeners the child keeps on it.
    let onParent = 0
    const counted: CallSignal = {
      get aborted() {
        return parent.signal.aborted
      },
      get reason() {
        return parent.signal.reason
      },
      addEventListener: (type, listener) => {
        onParent++
        parent.signal.addEventListener(type, listener)
      },
      removeEventListener: (type, listener) => {
        onParent--
        parent.signal.removeEventListener(type, listener)
      },
      throwIfAborted: () => parent.signal.throwIfAborted(),
    }
    const child = new CallAbortController(counted)
    let fired = 0
    const listener = (): void => void fired++
    expect(onParent).toBe(0)
    child.signal.addEventListener('abort', listener)
    expect(onParent).toBe(1)
    child.signal.removeEventListener('abort', listener)
    expect(onParent).toBe(0)
    parent.abort('gone')
    // Nobody listened any more: nothing was called, but the state is read through.
    expect(fired).toBe(0)
    expect(child.signal.aborted).toBe(true)
    expect(child.signal.reason).toBe('gone')
  })

  it('an attached one is the call signal, and delay() rejects with its reason', async () => {
    const request = new Request('http://a.test/')
    const controller = new CallAbortController(callSignal(request))
    attachHooks(request, { signal: controller.signal })
    const waiting = delay(60_000, callSignal(request))
    controller.abort(new DOMException('late', 'TimeoutError'))
    await expect(waiting).rejects.toMatchObject({ name: 'TimeoutError' })
  })
})

describe('call hooks objects', () => {
  it('runCallHooks calls each attached hook as a method of its hooks object, outermost first; a throw comes after all ran', () => {
    const request = new Request('http://a.test/')
    const seen: string[] = []
    class Layer {
      constructor(readonly name: string) {}
      onTest(n: number): void {
        seen.push(`${this.name} ${n}`)
        if (this.name === 'outer') throw new Error('outer broke')
      }
    }
    const detach = [attachHooks(request, new Layer('outer')), attachHooks(request, { trace: {} }), attachHooks(request, new Layer('inner'))]
    expect(() => runCallHooks(request, 'onTest', 7)).toThrow('outer broke')
    expect(seen).toEqual(['outer 7', 'inner 7'])
    for (const d of detach) d()
    runCallHooks(request, 'onTest', 8)
    expect(seen).toHaveLength(2)
  })

  it('runCallHooks calls every layer there when it began, once, even when a hook detaches its own hooks or attaches others', () => {
    for (const layers of [1, 3]) {
      const request = new Request('http://a.test/')
      const seen: string[] = []
      const late = { onTest: (): void => void seen.push('late') }
      class Layer {
        constructor(readonly name: string) {}
        onTest(): void {
          seen.push(this.name)
          // A hook that ends its layer's part in the call, and one that brings in another layer.
          detachHooks(request, this)
          attachHooks(request, late)
        }
      }
      for (let i = 0; i < layers; i++) attachHooks(request, new Layer(`layer ${i}`))
      runCallHooks(request, 'onTest', 1)
      expect(seen).toEqual(Array.from({ length: layers }, (_, i) => `layer ${i}`))
    }
  })

  it('a CallAbortController is a hooks object carrying its signal, dropped by a derived request that brings its own', () => {
    const request = new Request('http://a.test/')
    const controller = new CallAbortController(callSignal(request))
    const detach = attachHooks(request, controller)
    expect(callSignal(request)).toBe(controller.signal)
    expect(callSignal(deriveRequest(request))).toBe(controller.signal)
    const own = new AbortController()
    const derived = deriveRequest(request, { signal: own.signal })
    expect(callSignal(derived)).toBe(derived.signal)
    detach()
  })
})
