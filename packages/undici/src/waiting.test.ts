import { describe, expect, it } from 'vitest'
import { WaitingList, type Waiting } from './waiting.js'

function waiting(): Waiting {
  return { slot: -1, abort: () => {} }
}

describe('WaitingList', () => {
  it('holds what was added and not yet deleted, whatever the order of deletes, as a Set would', () => {
    const list = new WaitingList()
    const model = new Set<Waiting>()
    const all = Array.from({ length: 40 }, (_, i) => waiting())
    // A fixed, scrambled sequence: each step adds or deletes the item at (i * 7) % 40.
    for (let i = 0; i < 400; i++) {
      const item = all[(i * 7) % 40]!
      if (i % 3 === 2 || model.has(item)) expect(list.delete(item)).toBe(model.delete(item))
      else {
        list.add(item)
        model.add(item)
      }
      expect(list.size).toBe(model.size)
    }
    expect(new Set(list.toArray())).toEqual(model)
    for (const item of all) expect(item.slot === -1).toBe(!model.has(item))
  })

  it('delete says false for an item it does not hold, and leaves the others in place', () => {
    const list = new WaitingList()
    const [a, b] = [waiting(), waiting()]
    list.add(a)
    expect(list.delete(b)).toBe(false)
    expect(list.delete(a)).toBe(true)
    expect(list.delete(a)).toBe(false)
    expect(list.size).toBe(0)
  })

  it('toArray is a copy: aborting each item, which deletes it, reaches every one', () => {
    const list = new WaitingList()
    const aborted: string[] = []
    const items = ['a', 'b', 'c'].map((name) => {
      const item: Waiting = { slot: -1, abort: () => void (aborted.push(name), list.delete(item)) }
      list.add(item)
      return item
    })
    for (const item of list.toArray()) item.abort(new Error('destroyed'))
    expect(aborted.sort()).toEqual(['a', 'b', 'c'])
    expect(list.size).toBe(0)
    expect(items.every((item) => item.slot === -1)).toBe(true)
  })
})
