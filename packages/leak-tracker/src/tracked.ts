import { redactUrl, type BodyListener, type BodyOutcome, type CallHooks } from '@roundtrip/core'
import type { Held, OpenBody } from './leak.js'
import { doneLooking, lookingForConn } from './queued.js'
import { callerLocation, type CallerStack } from './stack.js'

/** What a tracker learns from a request's trace and the Transport's channels. */
export interface ConnListener {
  /** The request `tracked` waits for a connection of pool `tracked.key`: every one is busy. */
  queued(tracked: Tracked): void
  /** The request `tracked` got a connection. */
  gotConn(tracked: Tracked): void
  /** The body of `tracked` settled. */
  settled(tracked: Tracked, outcome: BodyOutcome): void
  /** The response of the call of `tracked` arrived (no trace attached): returns the response to hand on, observed. */
  delivered(tracked: Tracked, response: Response): Response
  /** The call of `tracked` rejected (no trace attached). */
  failed(tracked: Tracked): void
  /** `request`, if it is one of this tracker's calls, waits for a connection of pool `key` (the Transport's `queued` channel names it). */
  queuedRequest(request: Request, key: string): void
  /** `request`, if it is one of this tracker's calls, no longer waits for a connection (the Transport's `dequeued` channel names it). */
  dequeuedRequest(request: Request): void
}

/**
 * The calls a tracker makes through one RoundTripper (`wrap(next)`): pool
 * keys are per Transport, so a body only blocks requests of its scope. It
 * also remembers whether the last body that came from `next` declared what
 * it holds (core's `bodyHold`): while they do, calls need no trace.
 */
export class Scope {
  declares = false

  /** The tracker the calls go through (each record reaches it through its scope: one field less per call). */
  constructor(readonly listener: ConnListener) {}
}

/**
 * One tracked request and its response body: what it was and what it held,
 * never the response itself (that would keep it from being collected).
 *
 * It is the body's listener (`bodySettled`, and `bodyReleased`): a body the
 * Transport made declares the pool of the connection it holds (core's
 * `bodyHold`), and the release tells when that connection went back to the
 * pool or was closed. From then on the body holds only memory.
 *
 * When the bodies of the RoundTripper below declare nothing (Node's fetch, a
 * test double, a layer that makes bodies of its own), it is also the trace of the request's call (attached with core's `attachHooks`;
 * the Transport's `ClientTrace` hooks it listens to, by shape, so that this
 * package does not depend on the Transport): `getConn` names the pool,
 * `gotConn` ends a wait, `putIdleConn` ends the hold (without an error: the
 * response was complete). A RoundTripper that neither declares nor calls
 * them leaves the tracker without connection facts: its leaks are of
 * unknown severity.
 *
 * It is the call's hooks object itself (its `trace` is itself) and the
 * body's listener, so that a request costs this one object and no closure.
 *
 * While its body is open it is in one of its tracker's {@link BodyList}s.
 */
export class Tracked implements CallHooks, BodyListener {
  status = 0
  /** When the response was delivered (performance.now()). */
  start = 0
  settled = false
  reported = false
  ref: WeakRef<Response> | undefined = undefined
  /** The pool key (`http://host:port`) from the Transport, undefined over any other RoundTripper. */
  key: string | undefined = undefined
  /**
   * When the connection was given back or closed, once it is; 0 when it was
   * before the response was delivered (a small Smi, where a copy of `start`
   * would be a new heap number per call).
   */
  connEnd: number | undefined = undefined
  /** The whole response arrived: the connection went back to the pool. */
  arrived = false
  /** The body declared what it holds (core's `bodyHold`): its release, not `putIdleConn`, ends the hold. */
  declared = false
  /** Requests made through the tracker that waited for a connection of this pool while this body held one. */
  waiters = 0
  /** The request, while its call is on (to tell the `getConn` of one request from another's); undefined after. */
  call: Request | undefined
  /** The list this body is in, and its neighbours there. */
  list: BodyList | undefined = undefined
  prev: Tracked | undefined = undefined
  next: Tracked | undefined = undefined

  readonly method: string
  readonly url: string

  constructor(
    readonly scope: Scope,
    request: Request,
    readonly stack: CallerStack | undefined,
  ) {
    this.call = request
    this.method = request.method
    this.url = request.url
  }

  /**
   * Whether the delivered body holds a connection right now (as far as the
   * trace says): the response came through a connection (`getConn` named its
   * pool) that was not given back yet.
   */
  get holdsConn(): boolean {
    return this.key !== undefined && this.connEnd === undefined
  }

  /** How long, in ms, the connection was held after the response was delivered (until now, or until it was let go). */
  connHeldMs(now: number): number {
    if (this.key === undefined) return 0
    return Math.max(0, (this.connEnd ?? now) - this.start)
  }

  /** The trace the Transport calls for this call (`attachHooks(request, tracked)`): this record. */
  get trace(): this {
    return this
  }

  /** The reaction to the call's response where no trace is attached (bound to this record): the tracker observes it. */
  delivered(response: Response): Response {
    return this.scope.listener.delivered(this, response)
  }

  /** The reaction to the call's rejection where no trace is attached (bound to this record): passes the error on. */
  failed(error: unknown): never {
    this.scope.listener.failed(this)
    throw error
  }

  bodySettled(outcome: BodyOutcome): void {
    this.scope.listener.settled(this, outcome)
  }

  /** The producer let the connection go (core's `BodyListener`): the whole response arrived. */
  bodyReleased(): void {
    this.connEnd = performance.now()
    this.arrived = true
  }

  /** What the delivered body declared it holds: the pool, and whether it is released already (then it held it for 0 ms). */
  declare(pool: string, released: boolean): void {
    this.declared = true
    this.key = pool
    this.connEnd = released ? 0 : undefined
    this.arrived = released
  }

  // --- the trace hooks ---

  getConn(key: string): void {
    // A retry on another connection starts the facts again.
    this.key = key
    this.connEnd = undefined
    this.arrived = false
    lookingForConn(this)
  }

  gotConn(): void {
    // It no longer waits: a `queued` later in this call is another request's.
    doneLooking(this)
    this.scope.listener.gotConn(this)
  }

  putIdleConn(error?: Error): void {
    // A declaring body says it itself (bodyReleased).
    if (this.declared) return
    this.connEnd = performance.now()
    this.arrived = error === undefined
  }
}

/**
 * BodyList is a list of tracked bodies in the order they were added (so,
 * for delivered bodies, oldest first), linked through the bodies themselves:
 * adding and removing cost no allocation and no hashing, which a `Set`
 * would on every request.
 */
export class BodyList {
  first: Tracked | undefined = undefined
  last: Tracked | undefined = undefined
  size = 0

  add(t: Tracked): void {
    t.list = this
    t.prev = this.last
    t.next = undefined
    if (this.last === undefined) this.first = t
    else this.last.next = t
    this.last = t
    this.size++
  }

  /** Removes `t` if it is in this list; reports whether it was. */
  delete(t: Tracked): boolean {
    if (t.list !== this) return false
    if (t.prev === undefined) this.first = t.next
    else t.prev.next = t.next
    if (t.next === undefined) this.last = t.prev
    else t.next.prev = t.prev
    t.list = t.prev = t.next = undefined
    this.size--
    return true
  }

  clear(): void {
    for (let t = this.first; t !== undefined; ) {
      const next = t.next
      t.list = t.prev = t.next = undefined
      t = next
    }
    this.first = this.last = undefined
    this.size = 0
  }

  toArray(): Tracked[] {
    const all: Tracked[] = []
    for (let t = this.first; t !== undefined; t = t.next) all.push(t)
    return all
  }
}

/** What the body of `t` holds. */
function heldOf(t: Tracked): Held {
  if (t.key === undefined) return 'unknown'
  return t.arrived ? 'memory' : 'connection'
}

/** What `t` is and held, `now` (performance.now()). */
export function openBody(t: Tracked, now: number): OpenBody {
  return {
    method: t.method,
    url: redactUrl(t.url),
    status: t.status,
    ageMs: now - t.start,
    held: heldOf(t),
    connectionHeldMs: t.connHeldMs(now),
    poolKey: t.key,
    waiters: t.waiters,
    stack: t.stack?.stack,
    requestedAt: callerLocation(t.stack),
    via: t.stack?.via ?? [],
  }
}
