// One timer for many deadlines. Deadlines of the same duration come due in
// the order they were set, so the deadlines of one duration wait in a FIFO
// queue with one timer armed for its head, instead of a timer each (a
// Timeout object, a list insert and a remove per call). The queue is a list
// linked through the deadlines themselves: a deadline whose call settled is
// unlinked at once, wherever it is, so the queue keeps no settled call alive
// (an array with lazy removal kept every call behind a slow one for the whole
// duration: at 20,000 calls a second and 30 s, 600,000 of them). The timer is
// cleared as soon as nothing is pending, so no timer outlives the calls it
// times; a timer armed for a deadline removed since re-arms for the new head.
import { rethrowLater } from '@roundtrip/core'

/** A deadline as the queue sees it: when it is due, and what to do then. */
export interface QueuedDeadline {
  /** When it is due, on the `performance.now()` clock; set by {@link DeadlineQueue.add}. */
  dueAt: number
  /** The queue it is pending in, set and cleared by that queue (undefined once it fired or was removed). */
  queue: DeadlineQueue | undefined
  /** The deadline passed. */
  expire(): void
  /** The queue's links, kept by the queue (undefined outside it). */
  queuePrev?: QueuedDeadline | undefined
  queueNext?: QueuedDeadline | undefined
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
  /** The oldest pending deadline, and the newest: the list runs through their `queueNext`. */
  #first: QueuedDeadline | undefined
  #last: QueuedDeadline | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** When the deadline the timer was armed for is due: once the timer fires, deadlines due by then are due whatever the clock says (a fake timer and a real clock). No reference: a removed deadline is not kept. */
  #armedUntil = -Infinity
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
    deadline.queue = this
    const last = this.#last
    deadline.queuePrev = last
    deadline.queueNext = undefined
    if (last === undefined) this.#first = deadline
    else last.queueNext = deadline
    this.#last = deadline
    if (this.#timer === undefined && !this.#firing) this.#arm(deadline, this.#ms)
  }

  /** Takes `deadline` out (its call settled first); nothing when it is not pending here. */
  remove(deadline: QueuedDeadline): void {
    if (deadline.queue !== this) return
    this.#unlink(deadline)
    if (this.#first === undefined) this.#empty()
  }

  #unlink(deadline: QueuedDeadline): void {
    const prev = deadline.queuePrev
    const next = deadline.queueNext
    if (prev === undefined) this.#first = next
    else prev.queueNext = next
    if (next === undefined) this.#last = prev
    else next.queuePrev = prev
    deadline.queuePrev = undefined
    deadline.queueNext = undefined
    deadline.queue = undefined
  }

  #arm(deadline: QueuedDeadline, delay: number): void {
    const ms = Math.max(1, Math.ceil(delay))
    // A timer cut short by Node's limit is not the deadline's: the clock decides then.
    this.#armedUntil = ms <= TIMEOUT_MAX ? deadline.dueAt : -Infinity
    this.#timer = setTimeout(fire, Math.min(TIMEOUT_MAX, ms), this)
    this.#timer.unref()
  }

  /** The timer fired: every deadline due now expires, oldest first; the timer is armed again for the next one. */
  fire(): void {
    this.#timer = undefined
    const until = Math.max(this.#armedUntil, performance.now())
    this.#armedUntil = -Infinity
    this.#firing = true
    try {
      // Read afresh each turn: an expiring deadline may settle (remove) others, or add one.
      for (;;) {
        const head = this.#first
        if (head === undefined) return
        if (head.dueAt > until) return this.#arm(head, head.dueAt - performance.now())
        this.#unlink(head)
        if (this.#first === undefined) this.#empty()
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

  #empty(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedUntil = -Infinity
    this.#onEmpty?.(this)
  }
}

function fire(queue: DeadlineQueue): void {
  queue.fire()
}
