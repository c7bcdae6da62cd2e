import { rethrowLater, type CallSignal } from '@roundtrip/core'

/**
 * Hearing a call's abort (issue 21). Every stage of a call that waits (a
 * {@link ConnWaiter} in the queue, an Exchange from its dispatch until its
 * body is complete) must learn at once that its signal aborted, and must stop
 * listening when it ends: no listener outlives the call.
 *
 * On a real `AbortSignal` the stages share one listener, {@link onAbort}: a
 * module function (an `EventTarget` calls it with the signal as `this`), so a
 * call makes no closure, and the stages that watch a signal are found in a
 * WeakMap (one watcher, or an array of them). Not a property on the signal:
 * on Node 20 adding one to an `AbortSignal` is slow (measured +4.9 µs a
 * request in bench/ab.mjs; on Node 24 it measured 1 µs cheaper than the
 * WeakMap, within the noise), and the signal is the caller's. `addEventListener`
 * ignores a listener it already has: a signal shared by many calls in flight
 * (one `Request` sent 64 times at once) has one listener, not one per call —
 * no `MaxListenersExceededWarning` (Node's fetch, which raises the signal's
 * limit, does not warn either), and no walk of a 64-long listener list on
 * every add and remove. The listener leaves the signal with its last watcher.
 *
 * Any other {@link CallSignal} (core's `CallAbortController`, whose listeners
 * get no `this`) is listened to with a closure per watcher, as before.
 */

/** AbortWatcher is a stage of a call that waits on its signal. */
export interface AbortWatcher {
  /**
   * The signal aborted: called once; the watcher no longer watches (its
   * {@link unwatchAbort} does nothing). Also called on a watcher that left
   * (unwatchAbort) while the abort was being told — an earlier watcher's
   * abort ended it — since neither onAbort nor a `CallAbortController`
   * skips a listener removed during the dispatch: a watcher that no longer
   * watches does nothing then.
   */
  signalAborted(): void
}

/**
 * What {@link unwatchAbort} needs back: `true` for a watcher in an
 * `AbortSignal`'s slot, the closure added to any other signal.
 */
export type Watching = true | (() => void)

/** The watchers of each watched `AbortSignal`: one, or an array of two or more. */
const watchers = new WeakMap<AbortSignal, AbortWatcher | AbortWatcher[]>()

/**
 * watchAbort has `watcher` told when `signal` aborts, until {@link unwatchAbort}.
 * The caller checks first that the signal has not aborted (and that it can,
 * core's `neverAborts`).
 */
export function watchAbort(signal: CallSignal, watcher: AbortWatcher): Watching {
  if (!(signal instanceof AbortSignal)) {
    const listener = listenerOf(signal, watcher)
    signal.addEventListener('abort', listener)
    return listener
  }
  const slot = watchers.get(signal)
  if (slot === undefined) {
    watchers.set(signal, watcher)
    signal.addEventListener('abort', onAbort)
  } else if (Array.isArray(slot)) slot.push(watcher)
  else watchers.set(signal, [slot, watcher])
  return true
}

/** unwatchAbort ends a {@link watchAbort}: `watching` is what it returned. Nothing for a watcher already told. */
export function unwatchAbort(signal: CallSignal, watcher: AbortWatcher, watching: Watching): void {
  if (watching !== true) return signal.removeEventListener('abort', watching)
  const slot = watchers.get(signal as AbortSignal)
  if (slot === watcher) {
    watchers.delete(signal as AbortSignal)
    ;(signal as AbortSignal).removeEventListener('abort', onAbort)
    return
  }
  if (slot === undefined || !Array.isArray(slot)) return
  const i = slot.indexOf(watcher)
  if (i < 0) return
  // Order kept (watchers are told in the order they came), without splice's array of what it removed.
  for (let j = i + 1; j < slot.length; j++) slot[j - 1] = slot[j]!
  slot.pop()
  if (slot.length === 1) watchers.set(signal as AbortSignal, slot[0]!)
}

/** The one abort listener of every `AbortSignal` watched (`this` is the signal): tells each watcher once, and leaves. */
function onAbort(this: AbortSignal): void {
  const slot = watchers.get(this)
  watchers.delete(this)
  this.removeEventListener('abort', onAbort)
  if (slot === undefined) return
  if (!Array.isArray(slot)) return tell(slot)
  for (const watcher of slot) tell(watcher)
}

/** Tells `watcher` as an EventTarget calls a listener: one that throws neither stops the others nor reaches the one who aborted. */
function tell(watcher: AbortWatcher): void {
  try {
    watcher.signalAborted()
  } catch (error) {
    rethrowLater(error)
  }
}

/**
 * The listener of `watcher` on a signal other than an `AbortSignal`: it
 * leaves the signal, then tells the watcher. Made by a function, never
 * written as a literal assigned to a field: V8 allocates such a closure in
 * the old generation, where it keeps its context (the watcher, its request)
 * alive through young GCs (issue 21, `no-pretenured-closures.test.ts`).
 */
function listenerOf(signal: CallSignal, watcher: AbortWatcher): () => void {
  const listener = (): void => {
    signal.removeEventListener('abort', listener)
    tell(watcher)
  }
  return listener
}
