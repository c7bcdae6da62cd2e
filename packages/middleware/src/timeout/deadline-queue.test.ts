import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeadlineQueue, type QueuedDeadline } from './deadline-queue.js'

/** A deadline that records when it expired, on the (fake) clock. */
function deadline(log: string[], name: string): QueuedDeadline {
  return {
    dueAt: 0,
    queue: undefined,
    expire() {
      log.push(`${name}@${Math.round(performance.now())}`)
    },
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('DeadlineQueue', () => {
  it('expires each deadline on time, oldest first, with one timer for them all; a removed one never fires', () => {
    vi.useFakeTimers({ now: 0 })
    const start = performance.now()
    const log: string[] = []
    const queue = new DeadlineQueue(1000)
    const [a, b, c] = [deadline(log, 'a'), deadline(log, 'b'), deadline(log, 'c')]
    queue.add(a)
    vi.advanceTimersByTime(300)
    queue.add(b)
    vi.advanceTimersByTime(300)
    queue.add(c)
    expect(vi.getTimerCount()).toBe(1)
    queue.remove(a)
    vi.advanceTimersByTime(400)
    // a's timer fired for nothing and was armed again for b.
    expect(log).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(300)
    expect(log).toEqual([`b@${start + 1300}`])
    vi.advanceTimersByTime(300)
    expect(log).toEqual([`b@${start + 1300}`, `c@${start + 1600}`])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clears its timer as soon as nothing is pending, and calls onEmpty', () => {
    vi.useFakeTimers({ now: 0 })
    const emptied: DeadlineQueue[] = []
    const queue = new DeadlineQueue(5000, (q) => emptied.push(q))
    const [a, b] = [deadline([], 'a'), deadline([], 'b')]
    queue.add(a)
    queue.add(b)
    queue.remove(b)
    queue.remove(b)
    expect(vi.getTimerCount()).toBe(1)
    queue.remove(a)
    expect(vi.getTimerCount()).toBe(0)
    expect(emptied).toEqual([queue])
  })

  it('expires the deadline its timer was armed for even when only the timers are fake (the clock is real)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const log: string[] = []
    const queue = new DeadlineQueue(60_000)
    queue.add(deadline(log, 'a'))
    vi.advanceTimersByTime(60_000)
    expect(log).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('arms one timer, not two, when a deadline is added while another expires', () => {
    vi.useFakeTimers({ now: 0 })
    const log: string[] = []
    const queue = new DeadlineQueue(100)
    const later = deadline(log, 'later')
    const first = deadline(log, 'first')
    const second = deadline(log, 'second')
    first.expire = () => {
      log.push('first')
      queue.add(later)
    }
    queue.add(first)
    vi.advanceTimersByTime(50)
    queue.add(second)
    vi.advanceTimersByTime(50)
    expect(log).toEqual(['first'])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(100)
    expect(log).toEqual(['first', 'second@150', 'later@200'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it("reaches a deadline beyond Node's timer limit in steps, instead of firing at the limit", () => {
    vi.useFakeTimers({ now: 0 })
    const log: string[] = []
    const queue = new DeadlineQueue(2 ** 31 + 5_000)
    queue.add(deadline(log, 'far'))
    vi.advanceTimersByTime(2 ** 31)
    expect(log).toEqual([])
    vi.advanceTimersByTime(5_000)
    expect(log).toEqual([`far@${2 ** 31 + 5_000}`])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('starts each deadline from the clock when it is added, not from a time cached earlier in the turn: long synchronous work does not shorten the next deadline', () => {
    const queue = new DeadlineQueue(60_000)
    const [a, b] = [deadline([], 'a'), deadline([], 'b')]
    queue.add(a)
    const start = performance.now()
    while (performance.now() - start < 50) {
      // synchronous work in the same turn
    }
    queue.add(b)
    expect(b.dueAt).toBeGreaterThanOrEqual(a.dueAt + 50)
    for (const d of [a, b]) queue.remove(d)
  })

  it('keeps no settled deadline while an older one is still pending (it is unlinked when removed, not when it reaches the head)', async () => {
    const queue = new DeadlineQueue(60_000)
    const stuck = deadline([], 'stuck')
    queue.add(stuck)
    let settled: QueuedDeadline | undefined = deadline([], 'settled')
    const ref = new WeakRef(settled)
    queue.add(settled)
    queue.remove(settled)
    settled = undefined
    for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      ;(globalThis as { gc?: () => void }).gc?.()
    }
    expect(ref.deref()).toBeUndefined()
    queue.remove(stuck)
  })
})
