import { describe, expect, it } from 'vitest'
import { attachHooks, callHooks, callSignal, callTrace } from './call-hooks.js'
import { deriveRequest, withContext } from './context.js'

declare module './context.js' {
  interface RequestContext {
    trace?: object
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
