import { describe, expect, it } from 'vitest'
import { CallsInFlight, INDEX_CALLS_FROM, UNINDEX_CALLS_AT } from './calls.js'
import { Scope, Tracked, type ConnListener } from './tracked.js'

const scope = new Scope({} as ConnListener)
const call = (): Tracked => new Tracked(scope, new Request('http://127.0.0.1:1/'), undefined)

describe('CallsInFlight', () => {
  it('looks through the list up to INDEX_CALLS_FROM calls in flight, and finds each call by its request either way', () => {
    const calls = new CallsInFlight()
    const all = Array.from({ length: INDEX_CALLS_FROM }, call)
    for (const c of all) calls.add(c)
    expect(calls.of(all[5]!.call!)).toBe(all[5])
    expect(calls.of(new Request('http://127.0.0.1:1/'))).toBeUndefined()
    expect(calls.indexed).toBe(false)
    const more = call()
    calls.add(more)
    expect(calls.of(more.call!)).toBe(more)
    expect(calls.indexed).toBe(true)
    // Joins the index once it is on.
    const late = call()
    calls.add(late)
    expect(calls.of(late.call!)).toBe(late)
  })

  it('keeps the index while calls in flight fall to just above half the threshold, and drops it at half (hysteresis: a steady load does not keep it on for good)', () => {
    const calls = new CallsInFlight()
    const all = Array.from({ length: INDEX_CALLS_FROM + 8 }, call)
    for (const c of all) calls.add(c)
    expect(calls.of(all[0]!.call!)).toBe(all[0])
    while (calls.size > UNINDEX_CALLS_AT + 1) calls.delete(all.shift()!)
    expect(calls.indexed).toBe(true)
    expect(calls.of(all[0]!.call!)).toBe(all[0])
    calls.delete(all.shift()!)
    expect(calls.size).toBe(UNINDEX_CALLS_AT)
    expect(calls.indexed).toBe(false)
    // Still found (by the list), and the lookup does not build the index again below the threshold.
    expect(calls.of(all.at(-1)!.call!)).toBe(all.at(-1))
    expect(calls.indexed).toBe(false)
  })
})

describe('CallsInFlight with one Request in two calls at once', () => {
  for (const when of ['after the index was built', 'before the index was built'] as const) {
    it(`finds the older call once the newer settled (${when}): the index kept only the newer`, () => {
      const calls = new CallsInFlight()
      const others = Array.from({ length: INDEX_CALLS_FROM + 4 }, call)
      for (const c of others) calls.add(c)
      if (when === 'after the index was built') expect(calls.of(others[0]!.call!)).toBe(others[0])
      const older = call()
      const newer = new Tracked(scope, older.call!, undefined)
      calls.add(older)
      calls.add(newer)
      expect(calls.of(older.call!)).toBe(newer)
      expect(calls.indexed).toBe(true)
      calls.delete(newer)
      expect(calls.of(older.call!)).toBe(older)
      calls.delete(older)
      expect(calls.of(older.call!)).toBeUndefined()
    })
  }
})
