// Shared between response.ts and body.ts, not exported from the package.

/** The parts of a body source that the response class needs to know. */
export interface TrackedSource {
  observe(observer: (outcome: 'end' | 'cancel' | 'error' | 'collected', reason?: unknown) => void): void
}

/** Streams made by createBody, to their sources. */
export const sourceByStream = new WeakMap<ReadableStream, TrackedSource>()
/** Responses (and their clones) whose body came from createBody, to its source. */
export const sourceByResponse = new WeakMap<Response, TrackedSource>()
