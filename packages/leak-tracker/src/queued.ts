import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ConnListener, Tracked } from './tracked.js'

/** The Transport's channel: a request started waiting for a connection, `{ key, waiting, request }`. */
const QUEUED = 'roundtrip:pool:queued'
/** The Transport's channel: a request announced on QUEUED left the queue, `{ key, request, gotConn }`. */
const DEQUEUED = 'roundtrip:pool:dequeued'

// One subscriber for every tracker in the process. The Transport's message
// names the waiting Request: each live tracker looks for it among its calls
// (held weakly: a dropped tracker is collected). A Transport of an older
// copy names none; then the trace is what tells: it publishes
// `queued` in the same call as the waiting request's `getConn` hooks, so the
// request whose `getConn` ran last, if it is ours, is the one that waits:
// for each tracker it went through (trackers inside one another each have
// their own record of the same request, their hooks called one after the
// other). The module holds those records only until they got a connection
// (`gotConn` in the same call), waited, or the getConn call is over (a
// microtask), and holds no tracker otherwise: a tracker dropped without
// dispose() is collected, and its subscription counted out.

/** The records of the request whose `getConn` ran last, one per tracker it went through. */
const looking: Tracked[] = []
let watchers = 0
/** Every tracker alive and not disposed, weakly. */
const trackers = new Set<WeakRef<ConnListener>>()

function onQueued(message: unknown): void {
  const { key, request } = (message ?? {}) as { key?: unknown; request?: unknown }
  if (request instanceof Request && typeof key === 'string') {
    looking.length = 0
    for (const ref of trackers) ref.deref()?.queuedRequest(request, key)
    return
  }
  for (const waiter of looking.splice(0)) if (waiter.key === key) waiter.scope.listener.queued(waiter)
}

function onDequeued(message: unknown): void {
  const { request } = (message ?? {}) as { request?: unknown }
  if (request instanceof Request) for (const ref of trackers) ref.deref()?.dequeuedRequest(request)
}

// A settled promise's then() queues the clearing: queueMicrotask costs twice
// as much (Node wraps each callback in an AsyncResource), once a request.
const settled = Promise.resolve()
let clearPending = false
function clearLooking(): void {
  clearPending = false
  looking.length = 0
}

/** `tracked` looks for a connection of pool `tracked.key` (its `getConn` hook). */
export function lookingForConn(tracked: Tracked): void {
  // Another request's getConn: the last one's records are no longer the ones a `queued` would be about.
  if (looking.length > 0 && looking[0]!.call !== tracked.call) looking.length = 0
  if (!looking.includes(tracked)) looking.push(tracked)
  // `queued` comes in the same call as getConn or not at all: forget the
  // records once that call is over (a request that got a connection, or
  // dials one, must not be taken for the waiter of another's `queued`).
  if (!clearPending) {
    clearPending = true
    void settled.then(clearLooking)
  }
}

/** `tracked` no longer looks for a connection: it got one in its getConn call. */
export function doneLooking(tracked: Tracked): void {
  const i = looking.indexOf(tracked)
  if (i === -1) return
  // All records are of one request: their order does not matter.
  looking[i] = looking[looking.length - 1]!
  looking.length--
}

const registry = new FinalizationRegistry<() => void>((release) => release())

/**
 * watchQueue subscribes the module to `roundtrip:pool:queued` and
 * `roundtrip:pool:dequeued` while at least
 * one tracker needs it: from now until the returned function is called
 * (dispose()) or `owner` is garbage-collected, whichever comes first.
 */
export function watchQueue(owner: ConnListener): () => void {
  if (watchers++ === 0) {
    subscribe(QUEUED, onQueued)
    subscribe(DEQUEUED, onDequeued)
  }
  const token = {}
  const ref = new WeakRef(owner)
  trackers.add(ref)
  let watching = true
  const release = (): void => {
    if (!watching) return
    watching = false
    trackers.delete(ref)
    registry.unregister(token)
    if (--watchers > 0) return
    unsubscribe(QUEUED, onQueued)
    unsubscribe(DEQUEUED, onDequeued)
    looking.length = 0
  }
  registry.register(owner, release, token)
  return release
}
