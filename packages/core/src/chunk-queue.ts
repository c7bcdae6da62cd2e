/**
 * ChunkQueue holds the chunks a producer pushed and the consumer has not read
 * yet, and decides back-pressure: past the high-water mark the producer is
 * told to pause, and once the consumer drained the queue below it, to resume.
 * Chunks are kept by reference, never copied.
 *
 * The oldest chunk has a field of its own and the others wait in an array
 * made for a second one: most bodies of small responses are one chunk, and
 * an array's first push reserves room for 17 (about 150 bytes per body).
 * Once made, the array is kept when it empties: a body whose reader lags
 * behind its producer would otherwise make a new one per chunk or two.
 */
export class ChunkQueue {
  #first: Uint8Array | undefined = undefined
  #rest: Uint8Array[] | undefined = undefined
  #bytes = 0
  #paused = false
  readonly #hwm: number

  constructor(highWaterMark: number) {
    this.#hwm = highWaterMark
  }

  /** Appends a chunk; false when the queue holds the high-water mark (the producer was told to pause). */
  enqueue(chunk: Uint8Array): boolean {
    if (this.#first === undefined) this.#first = chunk
    else if (this.#rest === undefined) this.#rest = [chunk]
    else this.#rest.push(chunk)
    this.#bytes += chunk.byteLength
    if (this.#bytes < this.#hwm) return true
    this.#paused = true
    return false
  }

  /** The oldest chunk, removed from the queue, or undefined when it is empty. */
  dequeue(): Uint8Array | undefined {
    const chunk = this.#first
    if (chunk === undefined) return undefined
    const rest = this.#rest
    this.#first = rest?.shift()
    this.#bytes -= chunk.byteLength
    return chunk
  }

  /** True, once, when a paused producer may resume: the queue drained below the high-water mark. */
  resumable(): boolean {
    if (!this.#paused || this.#bytes >= this.#hwm) return false
    this.#paused = false
    return true
  }

  /** A read waits or everything is wanted: the producer is no longer paused. */
  unpause(): void {
    this.#paused = false
  }

  /** Every queued chunk, oldest first, removed from the queue. */
  takeAll(): Uint8Array[] {
    const first = this.#first
    if (first === undefined) return []
    const rest = this.#rest
    this.clear()
    if (rest === undefined) return [first]
    rest.unshift(first)
    return rest
  }

  /** Drops every queued chunk (a cancelled body). */
  clear(): void {
    this.#first = undefined
    this.#rest = undefined
    this.#bytes = 0
  }
}
