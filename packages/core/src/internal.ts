// Shared between response.ts and body.ts, not exported from the package.

/** How a body settled; see BodyOutcome in body.ts. */
export type Outcome = 'end' | 'cancel' | 'error' | 'collected'

/** The source behind a tracked body, as response.ts sees it. */
export interface TrackedSource {
  observe(observer: (outcome: Outcome, reason?: unknown) => void, owner?: object): void
  /** Resolves with every remaining chunk once the producer ended; settles the body as `end`. */
  readAll(): Promise<Uint8Array[]>
  /** A new pull-based stream over the source; `owner` is kept alive by it; `disturbed` is called on its first read or cancel. */
  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array>
  /** The response made over this source, watched for garbage collection where needed. */
  retain(owner: object): void
  /** Counts a clone of `original` sharing this source: both are then watched for garbage collection. */
  retainClone(original: object, copy: object): void
}

/** Streams opened on a tracked source, to their source and the response that opened them. */
export const sourceByStream = new WeakMap<ReadableStream, { source: TrackedSource; owner: object }>()
