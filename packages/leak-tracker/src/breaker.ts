import type { Tracked } from './tracked.js'

/**
 * DeadlockBreaker frees connections that requests wait for, held by bodies
 * nobody reads (see `breakDeadlocks`). It knows the tracker's requests that
 * wait for a connection; the tracker gives it the open bodies and reclaims
 * the one it picks. One timer, unref'd, armed only while a request waits and
 * a body holding its pool is not yet old enough.
 */
export class DeadlockBreaker {
  #after: number
  #waiting = new Set<Tracked>()
  #timer: NodeJS.Timeout | undefined
  #bodies: () => Iterable<Tracked>
  #unread: (body: Tracked) => boolean
  #reclaim: (body: Tracked, waiter: Tracked) => boolean

  constructor(
    after: number,
    bodies: () => Iterable<Tracked>,
    unread: (body: Tracked) => boolean,
    reclaim: (body: Tracked, waiter: Tracked) => boolean,
  ) {
    this.#after = after
    this.#bodies = bodies
    this.#unread = unread
    this.#reclaim = reclaim
  }

  /** How long, in ms, a body may stay unread while a request waits for its connection. */
  get after(): number {
    return this.#after
  }

  /** `waiter` waits for a connection of its pool. */
  waiting(waiter: Tracked): void {
    this.#waiting.add(waiter)
    this.check()
  }

  /** `waiter` got a connection, or gave up. */
  done(waiter: Tracked): void {
    if (!this.#waiting.delete(waiter) || this.#waiting.size > 0) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Reclaims, for each waiting request, the oldest unread body holding a connection of its pool once it is old enough. */
  check = (): void => {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#waiting.size === 0) return
    const now = performance.now()
    let due = Infinity
    const taken = new Set<Tracked>()
    for (const waiter of this.#waiting) {
      let oldest: Tracked | undefined
      for (const body of this.#bodies()) {
        if (body.scope !== waiter.scope || body.key !== waiter.key || !body.holdsConn || taken.has(body)) continue
        if (!this.#unread(body)) continue
        if (oldest === undefined || body.start < oldest.start) oldest = body
      }
      if (oldest === undefined) continue
      const at = oldest.start + this.#after
      if (at > now) {
        due = Math.min(due, at)
        continue
      }
      taken.add(oldest)
      // The freed slot goes to the first waiter; this one is served (or will time out) on its own.
      if (this.#reclaim(oldest, waiter)) this.#waiting.delete(waiter)
    }
    if (due !== Infinity && this.#waiting.size > 0) {
      this.#timer = setTimeout(this.check, Math.max(1, due - now))
      this.#timer.unref()
    }
  }

  dispose(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting.clear()
  }
}
