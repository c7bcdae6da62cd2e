// One timer for many deadlines. Deadlines of the same duration come due in
// the order they were set, so the deadlines of one duration wait in a FIFO
// queue with one timer armed for its head, instead of a timer each (a
// Timeout object, a list insert and a remove per call). A settled deadline
// stays in the queue until it reaches the head (lazy removal); the timer is
// cleared as soon as no deadline in the queue is pending, so no timer
// outlives the calls it times.
import { rethrowLater } from '@roundtrip/core'

/** A deadline as the queue sees it: when it is due, and what to do then. */
export interface QueuedDeadline {
  /** When it is due, on the `performance.now()` clock; set by {@link DeadlineQueue.add}. */
  dueAt: number
  /** Whether it is in a queue and pending; cleared by the queue when it fires or is removed. */
  queued: boolean
  /** The deadline passed. */
  expire(): void
}

// Node clamps a longer delay to 1 ms; a deadline further away is reached in steps.
const TIMEOUT_MAX = 2 ** 31 - 1

/**
 * DeadlineQueue holds the pending deadlines of one duration (`ms`
 * milliseconds), oldest first, under one unref'd timer armed for the oldest
 * pending one.
 */
export class DeadlineQueue {
  readonly #ms: number
  /** Deadlines from `#head` on, oldest first; settled ones are skipped when they reach the head. */
  #items: QueuedDeadline[] = []
  #head = 0
  /** Pending deadlines in the queue. */
  #pending = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  /** The deadline the timer was armed for: when the timer fires, it is due whatever the clock says (a fake timer and a real clock). */
  #armedFor: QueuedDeadline | undefined
  /** Deadlines are expiring: one added meanwhile does not arm the timer, the expiring loop does when it ends. */
  #firing = false
  /** Called when the queue holds nothing pending any more. */
  readonly #onEmpty: ((queue: DeadlineQueue) => void) | undefined

  constructor(ms: number, onEmpty?: (queue: DeadlineQueue) => void) {
    this.#ms = ms
    this.#onEmpty = onEmpty
  }

  /** The duration of this queue's deadlines, in milliseconds. */
  get ms(): number {
    return this.#ms
  }

  /** Starts `deadline`: due `ms` from now. */
  add(deadline: QueuedDeadline): void {
    deadline.dueAt = performance.now() + this.#ms
    deadline.queued = true
    this.#items.push(deadline)
    this.#pending++
    if (this.#timer === undefined && !this.#firing) this.#arm(deadline, this.#ms)
  }

  /** Takes `deadline` out (its call settled first); nothing when it is not pending here. */
  remove(deadline: QueuedDeadline): void {
    if (!deadline.queued) return
    deadline.queued = false
    if (--this.#pending === 0) return this.#empty()
    this.#dropSettledHead()
  }

  #arm(deadline: QueuedDeadline, delay: number): void {
    const ms = Math.max(1, Math.ceil(delay))
    // A timer cut short by Node's limit is not the deadline's: the clock decides then.
    this.#armedFor = ms <= TIMEOUT_MAX ? deadline : undefined
    this.#timer = setTimeout(fire, Math.min(TIMEOUT_MAX, ms), this)
    this.#timer.unref()
  }

  /** The timer fired: every deadline due now expires, oldest first; the timer is armed again for the next one. */
  fire(): void {
    this.#timer = undefined
    const armedFor = this.#armedFor
    this.#armedFor = undefined
    const now = performance.now()
    this.#firing = true
    try {
      // Read afresh each turn: an expiring deadline may settle (remove) others, or add one.
      for (;;) {
        this.#dropSettledHead()
        const head = this.#items[this.#head]
        if (head === undefined) return
        if (head !== armedFor && head.dueAt > now) return this.#arm(head, head.dueAt - now)
        head.queued = false
        this.#head++
        if (--this.#pending === 0) this.#empty()
        // A throwing deadline must not keep the ones after it from expiring.
        try {
          head.expire()
        } catch (error) {
          rethrowLater(error)
        }
      }
    } finally {
      this.#firing = false
    }
  }

  #dropSettledHead(): void {
    const items = this.#items
    let head = this.#head
    while (head < items.length && !items[head]!.queued) head++
    if (head === items.length) {
      items.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > items.length) {
      // Compact now and then, not on every removal: the array is the queue's only allocation.
      this.#items = items.slice(head)
      head = 0
    }
    this.#head = head
  }

  #empty(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = undefined
    for (let i = this.#head; i < this.#items.length; i++) this.#items[i]!.queued = false
    this.#items.length = 0
    this.#head = 0
    this.#onEmpty?.(this)
  }
}

function fire(queue: DeadlineQueue): void {
  queue.fire()
}
