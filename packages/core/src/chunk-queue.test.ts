import { describe, expect, it } from 'vitest'
import { ChunkQueue } from './chunk-queue.js'

const chunk = (n: number) => new Uint8Array(n)

describe('ChunkQueue', () => {
  it('keeps order and counts bytes when it empties and fills again (a reader that lags)', () => {
    const queue = new ChunkQueue(10)
    const [a, b, c, d, e] = [chunk(1), chunk(2), chunk(3), chunk(4), chunk(5)]
    expect(queue.enqueue(a)).toBe(true)
    expect(queue.enqueue(b)).toBe(true)
    expect(queue.dequeue()).toBe(a)
    expect(queue.dequeue()).toBe(b)
    expect(queue.dequeue()).toBeUndefined()
    expect(queue.enqueue(c)).toBe(true)
    expect(queue.enqueue(d)).toBe(true)
    expect(queue.enqueue(e)).toBe(false)
    expect(queue.dequeue()).toBe(c)
    expect(queue.resumable()).toBe(true)
    const all = queue.takeAll()
    expect(all).toHaveLength(2)
    expect(all[0]).toBe(d)
    expect(all[1]).toBe(e)
    expect(queue.dequeue()).toBeUndefined()
    expect(queue.enqueue(a)).toBe(true)
    const one = queue.takeAll()
    expect(one).toHaveLength(1)
    expect(one[0]).toBe(a)
    expect(all).toHaveLength(2)
    expect(queue.takeAll()).toEqual([])
  })
})
