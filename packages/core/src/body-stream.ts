import { registerStream, type TrackedSource } from './internal.js'

/** The side of a BodySource a stream reads from. */
export interface StreamSource {
  /** Hands the next chunk (or the end, or the error) to `controller`, or waits for the producer. */
  pullInto(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void
  cancel(reason: unknown): void
}

/**
 * openBodyStream makes the `ReadableStream` of a response over `source`:
 * pull-based (high-water mark 0, so nothing is read before the consumer
 * asks), calling `disturbed` on its first read or cancel. The stream keeps
 * `owner` (the response) alive, so that garbage collection of the response
 * means nobody can read the body.
 */
export function openBodyStream(source: StreamSource & TrackedSource, owner: object, disturbed: () => void): ReadableStream<Uint8Array> {
  const underlying = new BodyStreamSource(source, owner, disturbed)
  const stream = new ReadableStream<Uint8Array>(underlying, { highWaterMark: 0 })
  registerStream(stream, source, owner)
  return stream
}

/** The underlying source of a body's stream (a class, not a literal: its methods are not closures made per stream). */
class BodyStreamSource {
  /** Kept alive by the stream: while the stream can be read, the response is not collected. */
  readonly owner: object
  readonly #source: StreamSource
  readonly #disturbed: () => void

  constructor(source: StreamSource, owner: object, disturbed: () => void) {
    this.#source = source
    this.owner = owner
    this.#disturbed = disturbed
  }

  pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    this.#disturbed()
    return this.#source.pullInto(controller)
  }

  cancel(reason: unknown): void {
    this.#disturbed()
    this.#source.cancel(reason)
  }
}
