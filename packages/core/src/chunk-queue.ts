/**
 * ChunkQueue holds the chunks a producer pushed and the consumer has not read
 * yet, and decides back-pressure: past the high-water mark the producer is
 * told to pause, and once the consumer drained the queue below it, to resume.
 * Chunks are kept by reference, never copied.
 */
export class ChunkQueue {
  #chunks: Uint8Array[] = []
  #bytes = 0
  #paused = false
  readonly #hwm: number

  constructor(highWaterMark: number) {
    this.#hwm = highWaterMark
  }

  /** Appends a chunk; false when the queue holds the high-water mark (the producer was told to pause). */
  enqueue(chunk: Uint8Array): boolean {
    this.#chunks.push(chunk)
    this.#bytes += chunk.byteLength
    if (this.#bytes < this.#hwm) return true
    this.#paused = true
    return false
  }

  /** The oldest chunk, removed from the queue, or undefined when it is empty. */
  dequeue(): Uint8Array | undefined {
    const chunk = this.#chunks.shift()
    if (chunk !== undefined) this.#bytes -= chunk.byteLength
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

  /** Every queued chunk, removed from the queue. */
  takeAll(): Uint8Array[] {
    const chunks = this.#chunks
    if (chunks.length === 0) return chunks
    this.#chunks = []
    this.#bytes = 0
    return chunks
  }

  /** Drops every queued chunk (a cancelled body). */
  clear(): void {
    if (this.#chunks.length === 0) return
    this.#chunks = []
    this.#bytes = 0
  }
}
