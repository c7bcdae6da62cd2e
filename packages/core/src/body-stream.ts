import { registerStream, type TrackedSource } from './internal.js'

/** A stream read waiting for the producer's next chunk. */
export interface PendingRead {
  controller: ReadableStreamDefaultController<Uint8Array>
  resolve: () => void
}

/**
 * What a stream over a body keeps: the response that owns the body, so that
 * garbage collection of the response means nobody can read the body, and its
 * waiting read (the source holds that one weakly).
 */
export interface StreamKeeper {
  readonly owner: object
  pending: PendingRead | undefined
}

/** The side of a BodySource a stream reads from. */
export interface StreamSource {
  /** Hands the next chunk (or the end, or the error) to `controller`, or waits for the producer. */
  pullInto(controller: ReadableStreamDefaultController<Uint8Array>, keeper: StreamKeeper): Promise<void> | void
  cancel(reason: unknown): void
}

/**
 * openBodyStream makes the `ReadableStream` of a response over `source`:
 * pull-based (high-water mark 0, so nothing is read before the consumer
 * asks), calling `disturbed` on its first read or cancel.
 */
export function openBodyStream(source: StreamSource & TrackedSource, owner: object, disturbed: () => void): ReadableStream<Uint8Array> {
  const keeper = {
    owner,
    pending: undefined as PendingRead | undefined,
    pull(controller: ReadableStreamDefaultController<Uint8Array>) {
      disturbed()
      return source.pullInto(controller, keeper)
    },
    cancel(reason: unknown) {
      disturbed()
      source.cancel(reason)
    },
  }
  const stream = new ReadableStream<Uint8Array>(keeper, { highWaterMark: 0 })
  registerStream(stream, source, owner)
  return stream
}
