// Shared between the files of core, not exported from the package.
//
// State that two installed copies of core must agree on (a response made by
// one copy and handled by another: a Transport bundled with one version, a
// leak tracker with another) is keyed with Symbol.for, as undici keys its
// global dispatcher. The keys carry a version: bump it when the shape behind
// a key changes, so that copies that do not agree simply do not recognise
// each other's objects (they treat them as plain Responses).
import type { BodyListener, BodyObserver, BodySettled } from './body.js'
import type { BodyHold } from './body-hold.js'
import type { BodyOutcome } from './body-state.js'

// A RoundTripResponse keeps its state in fields of its own (v2; v1 kept two
// records, two more objects per response): `url`, `redirected` and `type`,
// and for a tracked body its source, its stream once made, and whether the
// user read it. See ResponseFields.
/** `response.url`. */
export const kUrl: unique symbol = Symbol.for('@roundtrip/core.response.url.v2')
/** `response.redirected`. */
export const kRedirected: unique symbol = Symbol.for('@roundtrip/core.response.redirected.v2')
/** `response.type`, or undefined for Response's own. */
export const kType: unique symbol = Symbol.for('@roundtrip/core.response.type.v2')
/** The tracked source of the body, or undefined when Response's own body is used. */
export const kSource: unique symbol = Symbol.for('@roundtrip/core.response.source.v2')
/** The body's stream, made on first use of `body` (a tee branch after clone()). */
export const kStream: unique symbol = Symbol.for('@roundtrip/core.response.stream.v2')
/** Whether the user read or cancelled the tracked body (`bodyUsed`). */
export const kUsed: unique symbol = Symbol.for('@roundtrip/core.response.used.v2')
/**
 * The header pairs of a RoundTripResponse not yet appended to its `Headers`
 * (`ResponseInfo.rawHeaders`). Read only by this copy's own prototype, so a
 * plain symbol: another copy of core reads `headers` through that prototype.
 */
export const kRawHeaders: unique symbol = Symbol('@roundtrip/core.rawHeaders')
/** The brand of a TrackedBody (a body source made by createBody). */
export const kTrackedBody: unique symbol = Symbol.for('@roundtrip/core.trackedBody.v1')

/** Returns the value stored on `globalThis` under `key`, made by `make` on first use. */
export function shared<T>(key: string, make: () => T): T {
  const store = globalThis as { [key: symbol]: T | undefined }
  const symbol = Symbol.for(key)
  return (store[symbol] ??= make())
}

/** The source behind a tracked body, as the response and the body helpers see it. */
export interface TrackedSource {
  /** How the body settled, or undefined while it is open. */
  readonly outcome: BodyOutcome | undefined
  /** Calls `observer` once when the body settles; `owner` is watched for garbage collection if nothing is. */
  observe(observer: BodyObserver, owner?: object): void
  /** As observe(), for a listener object; optional: a source of an older copy of core has none. */
  listen?(listener: BodyListener, owner?: object): void
  /** Resolves with every remaining chunk once the producer ended; settles the body as `end`. */
  readAll(): Promise<Uint8Array[]>
  /**
   * Every remaining chunk now, when the producer has ended and nobody read
   * the body (settles it as `end`, as readAll); undefined, changing nothing,
   * otherwise. Optional, as mapReadError.
   */
  readAllNow?(): Uint8Array[] | undefined
  /** Whether the producer has ended and the body is not settled yet (not read to the end, cancelled, …): every chunk not yet read is queued. Optional, as mapReadError. */
  complete?(): boolean
  /** A new pull-based stream over the source; `owner` is kept alive by it; `disturbed` is called on its first read or cancel. */
  openStream(owner: object, disturbed: () => void): ReadableStream<Uint8Array>
  /** Cancels on behalf of a third party: reads reject with `reason`, the producer is told to stop. */
  abort(reason: unknown): void
  /** Reads of a failed body reject with `map(error)`; optional: a source of an older copy of core has none. */
  mapReadError?(map: (error: unknown) => unknown): void
  /** Calls `follower` once when the body settles, watching no owner for it; optional, as mapReadError. */
  follow?(follower: (settled: BodySettled) => void): void
  /** What the producer declared the body holds, as now; optional, as mapReadError. */
  holding?(): BodyHold | undefined
  /** The response made over this source, watched for garbage collection where needed. */
  retain(owner: object): void
  /** Counts a clone of `original` sharing this source: both are then watched for garbage collection. */
  retainClone(original: object, copy: object): void
}

/** The fields of a RoundTripResponse (see {@link kUrl} and the keys after it). */
export interface ResponseFields {
  [kSource]: TrackedSource | undefined
  [kStream]: ReadableStream<Uint8Array> | undefined
  [kUsed]: boolean
  [kUrl]: string
  [kRedirected]: boolean
  [kType]: Response['type'] | undefined
  [kRawHeaders]: readonly string[] | undefined
}

/**
 * Sets the fields of `response`, always in this order: every
 * RoundTripResponse and clone has the same shape.
 */
export function setFields(
  response: ResponseFields,
  source: TrackedSource | undefined,
  stream: ReadableStream<Uint8Array> | undefined,
  url: string,
  redirected: boolean,
  type: Response['type'] | undefined,
  rawHeaders: readonly string[] | undefined,
): void {
  response[kSource] = source
  response[kStream] = stream
  response[kUsed] = false
  response[kUrl] = url
  response[kRedirected] = redirected
  response[kType] = type
  response[kRawHeaders] = rawHeaders
}

/** The fields of a RoundTripResponse that change after it was made. */
export type MutableFields = Pick<ResponseFields, typeof kRawHeaders | typeof kStream | typeof kUsed>

// A frozen response (frozen by its user, as a native Response may be and still
// be read) keeps its changing fields here, copied from its own on its first
// change; `any` stays false until then, so a read costs one check.
// Shared by copies of core, which read each other's kStream and kUsed.
const frozenFields = shared('@roundtrip/core.response.frozenFields.v2', () => ({
  any: false,
  records: new WeakMap<object, MutableFields>(),
}))

/** The changing fields of `response` as they are now: its own, or for a frozen one changed since, its record. */
export function fieldsOf<T extends Partial<MutableFields>>(response: T): T | MutableFields {
  return frozenFields.any ? (frozenFields.records.get(response) ?? response) : response
}

/** Where to write the changing fields of `response`: itself, or for a frozen one its record (made on first use). */
export function writableFields(response: MutableFields): MutableFields {
  if (!Object.isFrozen(response)) return response
  let record = frozenFields.records.get(response)
  if (record === undefined) {
    record = { [kRawHeaders]: response[kRawHeaders], [kStream]: response[kStream], [kUsed]: response[kUsed] }
    frozenFields.records.set(response, record)
    frozenFields.any = true
  }
  return record
}

/** Streams opened on a tracked source, to their source and the response that opened them (shared by copies). */
const sourceByStream = shared('@roundtrip/core.streams.v1', () => new WeakMap<ReadableStream, { source: TrackedSource; owner: object }>())

/** Records that `stream` reads `source` for `owner`, so that observeBody on a response over the stream finds them. */
export function registerStream(stream: ReadableStream, source: TrackedSource, owner: object): void {
  sourceByStream.set(stream, { source, owner })
}

/** The source and owning response of a stream opened by {@link registerStream}, if any. */
export function streamSource(stream: ReadableStream): { source: TrackedSource; owner: object } | undefined {
  return sourceByStream.get(stream)
}
