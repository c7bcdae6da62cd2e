import { internalError } from '@roundtrip/core'
import type { PersistConn } from './conn.js'

/**
 * ConnList is a list of conns in the order they were added, linked through
 * fields of the conns themselves: adding and removing allocate nothing. A
 * `Set` did the same job, but rebuilt its hash table on deletes (the busy
 * set and the idle LRU: ~250 B per request), allocated straight into V8's
 * old generation because the sets live there, for full GCs to collect. A conn is in at most one list at a time:
 * busy (its pool's list) or idle (the transport's LRU); adding one that is
 * in a list is an internal error.
 */
export class ConnList {
  #head: PersistConn | undefined
  #tail: PersistConn | undefined
  #size = 0

  /** How many conns are in the list. */
  get size(): number {
    return this.#size
  }

  /** The conn added first (the least recently used in an LRU), or undefined. */
  first(): PersistConn | undefined {
    return this.#head
  }

  /** Appends `conn`. */
  add(conn: PersistConn): void {
    if (conn.list !== undefined) throw internalError(`connection ${conn.id} is added to a list while in another`)
    conn.list = this
    conn.listPrev = this.#tail
    conn.listNext = undefined
    if (this.#tail === undefined) this.#head = conn
    else this.#tail.listNext = conn
    this.#tail = conn
    this.#size++
  }

  /** Removes `conn`; false when it was not in this list. */
  delete(conn: PersistConn): boolean {
    if (conn.list !== this) return false
    const { listPrev: prev, listNext: next } = conn
    if (prev === undefined) this.#head = next
    else prev.listNext = next
    if (next === undefined) this.#tail = prev
    else next.listPrev = prev
    conn.list = undefined
    conn.listPrev = undefined
    conn.listNext = undefined
    this.#size--
    return true
  }

  /** The conns, first added first (a copy: the list may change while it is used). */
  toArray(): PersistConn[] {
    const out: PersistConn[] = []
    for (let conn = this.#head; conn !== undefined; conn = conn.listNext) out.push(conn)
    return out
  }
}
