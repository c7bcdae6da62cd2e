import { describe, expect, expectTypeOf, it } from 'vitest'
import { hasUndiciDispatch, undiciDispatch, type UndiciDispatchable, type UndiciWaitingDispatch, type UndiciWaitingList } from './undici-dispatch.js'

describe('undiciDispatch', () => {
  it('is the registered symbol, so two copies of core agree', () => {
    expect(undiciDispatch).toBe(Symbol.for('roundtrip.undiciDispatch'))
  })

  it('hasUndiciDispatch tells an object with a method under the symbol from one without', () => {
    const offers = { [Symbol.for('roundtrip.undiciDispatch')]: () => false }
    expect(hasUndiciDispatch(offers)).toBe(true)
    expect(hasUndiciDispatch({ [undiciDispatch]: true })).toBe(false)
    expect(hasUndiciDispatch({ roundTrip: () => Promise.reject(new Error('no')) })).toBe(false)
    expect(hasUndiciDispatch(null)).toBe(false)
    expect(hasUndiciDispatch(undefined)).toBe(false)
  })

  it('takes a dispatcher’s waiting list as its fourth argument, whose entries carry their slot and an abort (checked by typecheck)', () => {
    expectTypeOf<Parameters<UndiciDispatchable[typeof undiciDispatch]>>().toEqualTypeOf<[options: object, handler: object, trace?: object, waiting?: UndiciWaitingList]>()
    expectTypeOf<UndiciWaitingList['add']>().parameter(0).toEqualTypeOf<UndiciWaitingDispatch>()
    expectTypeOf<UndiciWaitingDispatch>().toEqualTypeOf<{ slot: number; abort(reason: Error): void }>()
  })
})
