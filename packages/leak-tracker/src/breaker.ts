import type { BodyList, Tracked } from './tracked.js'

/**
 * DeadlockBreaker frees connections that requests wait for, held by bodies
 * nobody reads (see `breakDeadlocks`). It knows the tracker's requests that
 * wait for a connection; the tracker gives it its lists of open bodies
 * (oldest first, each list older than the next) and reclaims the one it
 * picks. One timer, unref'd, armed only while a request waits and a body
 * holding its pool is not yet old enough, for the earliest such body.
 */
export class DeadlockBreaker {
  #after: number
  #waiting = new Set<Tracked>()
  #timer: NodeJS.Timeout | undefined
  #due = Infinity
  #bodies: readonly BodyList[]
  #unread: (body: Tracked) => boolean
  #reclaim: (body: Tracked, waiter: Tracked) => boolean

  constructor(
    after: number,
    bodies: readonly BodyList[],
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

  /** `waiter` waits for a connection of its pool: its oldest unread blocking body is reclaimed when old enough. */
  waiting(waiter: Tracked): void {
    this.#waiting.add(waiter)
    const oldest = this.#oldestFor(waiter, undefined)
    if (oldest === undefined) return
    const due = oldest.start + this.#after
    if (due <= performance.now()) this.check()
    else if (due < this.#due) this.#arm(due)
  }

  /** `waiter` got a connection, or gave up. */
  done(waiter: Tracked): void {
    if (!this.#waiting.delete(waiter) || this.#waiting.size > 0) return
    this.#disarm()
  }

  /**
   * A body holding a connection was delivered. It is the youngest body, so
   * an armed timer is already due no later than it would be: only when none
   * is armed can it be the first body a waiter could be freed from.
   */
  delivered(): void {
    if (this.#waiting.size > 0 && this.#timer === undefined) this.check()
  }

  /** Reclaims, for each waiting request, the oldest unread body holding a connection of its pool once it is old enough. */
  check = (): void => {
    this.#disarm()
    if (this.#waiting.size === 0) return
    const now = performance.now()
    let due = Infinity
    let taken: Set<Tracked> | undefined
    for (const waiter of this.#waiting) {
      const oldest = this.#oldestFor(waiter, taken)
      if (oldest === undefined) continue
      const at = oldest.start + this.#after
      if (at > now) {
        due = Math.min(due, at)
        continue
      }
      ;(taken ??= new Set()).add(oldest)
      // The freed slot goes to the first waiter; this one is served (or will time out) on its own.
      if (this.#reclaim(oldest, waiter)) this.#waiting.delete(waiter)
    }
    if (due !== Infinity && this.#waiting.size > 0) this.#arm(due)
  }

  /** The oldest unread body, not `taken`, that holds a connection `waiter` could use. */
  #oldestFor(waiter: Tracked, taken: ReadonlySet<Tracked> | undefined): Tracked | undefined {
    for (const list of this.#bodies) {
      for (let body = list.first; body !== undefined; body = body.next) {
        if (body.scope !== waiter.scope || body.key !== waiter.key || !body.holdsConn) continue
        if (taken?.has(body) === true || !this.#unread(body)) continue
        return body
      }
    }
    return undefined
  }

  #arm(due: number): void {
    clearTimeout(this.#timer)
    this.#due = due
    this.#timer = setTimeout(this.check, Math.max(1, due - performance.now()))
    this.#timer.unref()
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#due = Infinity
  }

  dispose(): void {
    this.#disarm()
    this.#waiting.clear()
  }
}
