import type { UndiciWaitingDispatch, UndiciWaitingList } from '@roundtrip/core'

/**
 * Waiting is a dispatch its dispatcher keeps while it waits for its response
 * head, so that `destroy()` can fail it (core's `UndiciWaitingDispatch`: a
 * bridged dispatch, or a RoundTripper's own through core's `undiciDispatch`);
 * `slot` is its place in the dispatcher's {@link WaitingList} (-1 when it is
 * not in one).
 */
export type Waiting = UndiciWaitingDispatch

/**
 * WaitingList holds a dispatcher's waiting dispatches. A dispatch enters it
 * at its start and leaves at its head or its end, so at 64 in flight it is
 * entered and left 64 times a turn: each dispatch knows its slot and the
 * last one takes the place of one that leaves (no hashing, no table to grow
 * or rehash, as a `Set` of short-lived objects needs). Order is not kept.
 * It is core's `UndiciWaitingList`: a RoundTripper's own dispatches join it
 * themselves.
 */
export class WaitingList implements UndiciWaitingList {
  readonly #items: Waiting[] = []

  get size(): number {
    return this.#items.length
  }

  add(waiting: Waiting): void {
    waiting.slot = this.#items.length
    this.#items.push(waiting)
  }

  /** delete takes `waiting` out; false when it was not in the list. */
  delete(waiting: Waiting): boolean {
    const items = this.#items
    const slot = waiting.slot
    if (slot < 0 || items[slot] !== waiting) return false
    const last = items.pop()!
    if (last !== waiting) {
      items[slot] = last
      last.slot = slot
    }
    waiting.slot = -1
    return true
  }

  /** The dispatches waiting now, in a list of their own (aborting one takes it out of this one). */
  toArray(): Waiting[] {
    return this.#items.slice()
  }
}
