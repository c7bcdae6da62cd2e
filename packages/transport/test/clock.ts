import type { Clock, ClockTimer } from '../src/index.js'

interface ManualTimer extends ClockTimer {
  due: number
  readonly ms: number
  readonly callback: () => void
  cleared: boolean
}

/**
 * ManualClock is a {@link Clock} whose time moves only when a test calls
 * {@link advance}: the idle, wait, connect and short header/body deadlines
 * of a Transport built with it fire then, in order, and never on their own.
 */
export class ManualClock implements Clock {
  #now = 1_000
  #timers = new Set<ManualTimer>()

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    const timer: ManualTimer = {
      due: this.#now + ms,
      ms,
      callback,
      cleared: false,
      refresh: () => {
        timer.due = this.#now + timer.ms
        if (!timer.cleared) this.#timers.add(timer)
        return timer
      },
    }
    this.#timers.add(timer)
    return timer
  }

  clearTimeout(timer: ClockTimer): void {
    ;(timer as ManualTimer).cleared = true
    this.#timers.delete(timer as ManualTimer)
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#timers.size
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let next: ManualTimer | undefined
      for (const timer of this.#timers) if (timer.due <= end && (next === undefined || timer.due < next.due)) next = timer
      if (next === undefined) break
      this.#timers.delete(next)
      this.#now = next.due
      next.callback()
    }
    this.#now = end
  }
}
