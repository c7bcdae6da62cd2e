// Shared between the files of core, not exported from the package.
import type { BodyObserver } from './body.js'
import type { BodyOutcome } from './body-state.js'

/** The source behind a tracked body, as the response and the body helpers see it. */
export interface TrackedSource {
  /** How the body settled, or undefined while it is open. */
  readonly outcome: BodyOutcome | undefined
  /** Calls `observer` once when the body settles; `owner` is watched for garbage collection if nothing is. */
  observe(observer: BodyObserver, owner?: object): void
  /** Resolves with every remaining chunk once the producer ended; settles the body as `end`. */
  readAll(): Promise<Uint8Array[]>
  /** A new pull-based stream over the source; `owner` is kept alive by it; `disturbed` is called on its first read or cancel. */
  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array>
  /** Cancels on behalf of a third party: reads reject with `reason`, the producer is told to stop. */
  abort(reason: unknown): void
  /** The response made over this source, watched for garbage collection where needed. */
  retain(owner: object): void
  /** Counts a clone of `original` sharing this source: both are then watched for garbage collection. */
  retainClone(original: object, copy: object): void
}

/** Streams opened on a tracked source, to their source and the response that opened them. */
const sourceByStream = new WeakMap<ReadableStream, { source: TrackedSource; owner: object }>()

/** Records that `stream` reads `source` for `owner`, so that observeBody on a response over the stream finds them. */
export function registerStream(stream: ReadableStream, source: TrackedSource, owner: object): void {
  sourceByStream.set(stream, { source, owner })
}

/** The source and owning response of a stream opened by {@link registerStream}, if any. */
export function streamSource(stream: ReadableStream): { source: TrackedSource; owner: object } | undefined {
  return sourceByStream.get(stream)
}
