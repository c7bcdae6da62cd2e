/**
 * teeBody splits a body stream in two, as `ReadableStream.prototype.tee()`
 * does (chunks shared by reference, the source cancelled once both branches
 * are, with both reasons; `disturbed` is called on each read or cancel of a
 * branch), but lazily: the branches have a high-water mark
 * of 0, so nothing is read from the source before one of them is read.
 *
 * A native tee's branches pull at once. For a response body that meant
 * `clone()` alone read the body: a clone of a body that had fully arrived
 * was reported read to the end (`end`) with nobody reading it, and a clone
 * waited on the producer with a read nobody asked for, so that a waiting
 * read could not be told from a consumer's.
 */
export function teeBody(stream: ReadableStream<Uint8Array>, disturbed: (branch: 0 | 1) => void): [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>] {
  const tee = new Tee(stream.getReader(), disturbed)
  return [new ReadableStream<Uint8Array>(new TeeBranch(tee, 0), { highWaterMark: 0 }), new ReadableStream<Uint8Array>(new TeeBranch(tee, 1), { highWaterMark: 0 })]
}

/** The state both branches of one teeBody share: the source's reader, a queue per branch, and how the source ended. */
class Tee {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>
  readonly disturbed: (branch: 0 | 1) => void
  readonly buffers: [Uint8Array[], Uint8Array[]] = [[], []]
  readonly cancelled = [false, false]
  readonly reasons: unknown[] = [undefined, undefined]
  #reading: Promise<void> | undefined
  closed = false
  failed = false
  failure: unknown

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, disturbed: (branch: 0 | 1) => void) {
    this.reader = reader
    this.disturbed = disturbed
  }

  /** One read of the source at a time, its chunk queued for each branch not cancelled. */
  readOnce(): Promise<void> {
    return (this.#reading ??= this.reader.read().then(
      (result) => {
        this.#reading = undefined
        if (result.done) this.closed = true
        else for (let i = 0; i < 2; i++) if (!this.cancelled[i]) this.buffers[i as 0 | 1].push(result.value)
      },
      (error: unknown) => {
        this.#reading = undefined
        this.failed = true
        this.failure = error
      },
    ))
  }
}

/** The underlying source of one branch (a class, not a literal: its methods are not closures made per clone). */
class TeeBranch {
  readonly #tee: Tee
  readonly #i: 0 | 1

  constructor(tee: Tee, i: 0 | 1) {
    this.#tee = tee
    this.#i = i
  }

  pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    this.#tee.disturbed(this.#i)
    return this.#step(controller)
  }

  cancel(reason: unknown): Promise<void> | undefined {
    const tee = this.#tee
    const i = this.#i
    tee.disturbed(i)
    tee.cancelled[i] = true
    tee.reasons[i] = reason
    tee.buffers[i] = []
    if (tee.cancelled[1 - i]) return tee.reader.cancel(tee.reasons)
    return undefined
  }

  #step(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    const tee = this.#tee
    const chunk = tee.buffers[this.#i].shift()
    if (chunk !== undefined) return controller.enqueue(chunk)
    if (tee.failed) return controller.error(tee.failure)
    if (tee.closed) return controller.close()
    return tee.readOnce().then(() => this.#step(controller))
  }
}
