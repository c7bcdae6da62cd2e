import { getContext, withContext, type RequestContext } from '@roundtrip/core'
import type { CallerStack } from './stack.js'

/**
 * The trace hooks the tracker listens to, as the Transport calls them (its
 * `ClientTrace`; declared here by shape so that this package does not depend
 * on the Transport). A RoundTripper that calls none of them leaves the
 * tracker without connection facts: its leaks are of unknown severity.
 */
interface TraceHooks {
  getConn?(key: string): void
  gotConn?(info: unknown): void
  putIdleConn?(error?: Error): void
  [hook: string]: ((...args: never[]) => void) | undefined
}

/** What a tracker learns from a request's trace: the hooks call these. */
export interface ConnListener {
  /** The request `tracked` starts looking for a connection of pool `key`. */
  lookingForConn(tracked: Tracked): void
  /** The request `tracked` got a connection. */
  gotConn(tracked: Tracked): void
}

/**
 * One tracked request and its response body: what it was and what it held,
 * never the response itself (that would keep it from being collected).
 *
 * Connection facts come from the Transport's trace hooks: `getConn` names
 * the pool, `gotConn` starts the hold, `putIdleConn` ends it. `putIdleConn`
 * without an error means the response was complete and the connection went
 * back to the pool: from then on the body holds only memory.
 */
export class Tracked {
  status = 0
  /** When the response was delivered (performance.now()); the request start until then. */
  start: number
  settled = false
  reported = false
  ref: WeakRef<Response> | undefined = undefined
  /** The pool key (`http://host:port`) from the Transport, undefined over any other RoundTripper. */
  key: string | undefined = undefined
  /** When the current connection was obtained, while it is held. */
  connSince: number | undefined = undefined
  /** When the connection was given back or closed, once it is. */
  connEnd: number | undefined = undefined
  /** The whole response arrived: the connection went back to the pool. */
  arrived = false
  /** This request is waiting for a connection of its pool (every one is busy). */
  waiting = false
  /** Requests made through the tracker that waited for a connection of this pool while this body held one. */
  waiters = 0

  constructor(
    readonly scope: object,
    readonly method: string,
    readonly url: string,
    readonly stack: CallerStack | undefined,
    readonly listener: ConnListener,
  ) {
    this.start = performance.now()
  }

  /** Whether the body holds a connection right now (as far as the trace says). */
  get holdsConn(): boolean {
    return this.connSince !== undefined && this.connEnd === undefined
  }

  /** How long, in ms, the connection was held after the response was delivered (until now, or until it was let go). */
  connHeldMs(now: number): number {
    if (this.connSince === undefined) return 0
    return Math.max(0, (this.connEnd ?? now) - this.start)
  }
}

const TRACKED = Symbol('roundtrip.leak-tracker.tracked')

/** The tracker's own trace: it records the facts, then calls the caller's trace (if any) as if the tracker were not there. */
class TrackerTrace implements TraceHooks {
  [hook: string]: ((...args: never[]) => void) | undefined
  declare [TRACKED]: Tracked
  constructor(tracked: Tracked) {
    this[TRACKED] = tracked
  }
  getConn(key: string): void {
    const t = this[TRACKED]
    t.key = key
    t.connSince = undefined
    t.connEnd = undefined
    t.arrived = false
    t.listener.lookingForConn(t)
  }
  gotConn(): void {
    const t = this[TRACKED]
    t.connSince = performance.now()
    t.waiting = false
    t.listener.gotConn(t)
  }
  putIdleConn(error?: Error): void {
    const t = this[TRACKED]
    t.connEnd = performance.now()
    t.arrived = error === undefined
  }
}

/** A trace that calls ours, then the caller's hook of the same name; every other hook of the caller's is passed through. */
function chain(ours: TrackerTrace, theirs: TraceHooks): TraceHooks {
  const both: TraceHooks = {}
  for (const name of Object.keys(theirs)) both[name] = theirs[name]?.bind(theirs)
  for (const name of ['getConn', 'gotConn', 'putIdleConn'] as const) {
    const mine = (ours[name] as (this: TrackerTrace, ...args: never[]) => void).bind(ours)
    const their = theirs[name] as ((...args: never[]) => void) | undefined
    both[name] =
      typeof their === 'function'
        ? (...args: never[]) => {
            mine(...args)
            their.apply(theirs, args)
          }
        : mine
  }
  return both
}

/**
 * listen attaches the tracker's trace hooks to `request` (through core's
 * request context, which the Transport reads), merged with the caller's own
 * trace. A request sent again through the tracker gets the caller's trace,
 * not ours twice.
 */
export function listen(request: Request, tracked: Tracked): void {
  const current = (getContext(request) as { trace?: TraceHooks & { [TRACKED]?: Tracked; [ORIGINAL]?: TraceHooks } }).trace
  const theirs = current === undefined ? undefined : (current[ORIGINAL] ?? (current instanceof TrackerTrace ? undefined : current))
  const ours = new TrackerTrace(tracked)
  let trace: TraceHooks = ours
  if (theirs !== undefined) {
    trace = chain(ours, theirs)
    Object.defineProperty(trace, ORIGINAL, { value: theirs })
  }
  withContext(request, { trace } as Partial<RequestContext>)
}
const ORIGINAL = Symbol('roundtrip.leak-tracker.original-trace')
