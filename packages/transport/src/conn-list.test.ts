import { describe, expect, it } from 'vitest'
import { ConnList } from './conn-list.js'
import type { PersistConn } from './conn.js'

/** A stand-in with only the fields a ConnList reads and writes (a real conn needs a socket; its pool tests use real ones). */
function conn(id: number): PersistConn {
  return { id, list: undefined, listPrev: undefined, listNext: undefined } as unknown as PersistConn
}

const ids = (list: ConnList): number[] => list.toArray().map((c) => c.id)

describe('ConnList', () => {
  it('keeps conns in the order they were added, the first one first', () => {
    const list = new ConnList()
    const [a, b, c] = [conn(1), conn(2), conn(3)]
    list.add(a)
    list.add(b)
    list.add(c)
    expect(ids(list)).toEqual([1, 2, 3])
    expect(list.first()).toBe(a)
    expect(list.size).toBe(3)
  })

  it('removes a conn from the head, the middle or the tail, and a removed conn can be added again at the end', () => {
    const list = new ConnList()
    const all = [conn(1), conn(2), conn(3), conn(4)]
    for (const c of all) list.add(c)
    expect(list.delete(all[1]!)).toBe(true)
    expect(ids(list)).toEqual([1, 3, 4])
    expect(list.delete(all[0]!)).toBe(true)
    expect(list.first()).toBe(all[2])
    expect(list.delete(all[3]!)).toBe(true)
    expect(ids(list)).toEqual([3])
    list.add(all[0]!)
    expect(ids(list)).toEqual([3, 1])
    expect(list.delete(all[2]!)).toBe(true)
    expect(list.delete(all[0]!)).toBe(true)
    expect(list.size).toBe(0)
    expect(list.first()).toBeUndefined()
    expect(ids(list)).toEqual([])
  })

  it('says false for a conn that is not in it, and leaves another list alone', () => {
    const busy = new ConnList()
    const idle = new ConnList()
    const c = conn(1)
    expect(busy.delete(c)).toBe(false)
    idle.add(c)
    expect(busy.delete(c)).toBe(false)
    expect(ids(idle)).toEqual([1])
    expect(idle.delete(c)).toBe(true)
    expect(idle.delete(c)).toBe(false)
  })

  it('refuses a conn that is already in a list, as an internal error', () => {
    const busy = new ConnList()
    const idle = new ConnList()
    const c = conn(7)
    busy.add(c)
    expect(() => idle.add(c)).toThrow('internal error: connection 7 is added to a list while in another')
    expect(() => busy.add(c)).toThrow('internal error')
    expect(ids(busy)).toEqual([7])
    expect(idle.size).toBe(0)
  })
})
