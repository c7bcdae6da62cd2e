import { internalError } from '@roundtrip/core'
import type { PersistConn } from './conn.js'

/** The fields an entry of a {@link ConnList} is linked through: the list it is in, and its neighbours there. */
export interface Linked<T extends Linked<T>> {
  list: ConnList<T> | undefined
  listPrev: T | undefined
  listNext: T | undefined
}

/**
 * ConnList is a list of conns (or of an HTTP/2 conn's stream leases) in the
 * order they were added, linked through fields of the entries themselves:
 * adding and removing allocate nothing. A `Set` did the same job, but
 * rebuilt its hash table on deletes (the busy set and the idle LRU: ~250 B
 * per request), allocated straight into V8's old generation because the
 * sets live there, for full GCs to collect. An entry is in at most one list
 * at a time (a conn: busy, its pool's list, or idle, the transport's LRU);
 * adding one that is in a list is an internal error.
 */
export class ConnList<T extends Linked<T> = PersistConn> {
  #head: T | undefined
  #tail: T | undefined
  #size = 0

  /** How many entries are in the list. */
  get size(): number {
    return this.#size
  }

  /** The entry added first (the least recently used in an LRU), or undefined; the next ones follow through `listNext`. */
  first(): T | undefined {
    return this.#head
  }

  /** Appends `entry`. */
  add(entry: T): void {
    if (entry.list !== undefined) throw internalError(`${describe(entry)} is added to a list while in another`)
    entry.list = this
    entry.listPrev = this.#tail
    entry.listNext = undefined
    if (this.#tail === undefined) this.#head = entry
    else this.#tail.listNext = entry
    this.#tail = entry
    this.#size++
  }

  /** Removes `entry`; false when it was not in this list. */
  delete(entry: T): boolean {
    if (entry.list !== this) return false
    const { listPrev: prev, listNext: next } = entry
    if (prev === undefined) this.#head = next
    else prev.listNext = next
    if (next === undefined) this.#tail = prev
    else next.listPrev = prev
    entry.list = undefined
    entry.listPrev = undefined
    entry.listNext = undefined
    this.#size--
    return true
  }

  /** The entries, first added first (a copy: the list may change while it is used). */
  toArray(): T[] {
    const out: T[] = []
    for (let entry = this.#head; entry !== undefined; entry = entry.listNext) out.push(entry)
    return out
  }
}

/** describe names an entry in an internal error: `connection 7` for a conn. */
function describe(entry: object): string {
  const id = (entry as { id?: unknown }).id
  return id === undefined ? 'an entry' : `connection ${String(id)}`
}
