// The garbage-collection watch: how a response dropped with its body open
// is noticed, so that its connection is released (and an observer told).
//
// This file holds core's only module-level state: one FinalizationRegistry,
// and the batch of owners waiting for the event loop's check phase. Each
// installed copy of core has its own; that is harmless, because a body is
// only ever registered with the copy that created it (the responses of
// another copy call back into the body through its own methods).

/** What the watch calls back: the state behind a body (BodySource). */
export interface Watched {
  /** An owner registered with {@link watch} for this target was collected. */
  collected(): void
  /** The check phase came for an owner deferred with {@link deferWatch}: register it if still needed. */
  adopt(owner: object): void
}

/** The registry's two operations; tests may put their own in place with {@link setRegistryForTests}. */
export interface Registry {
  register(owner: object, target: Watched, token: Watched): void
  unregister(token: Watched): void
}

let registry: Registry = new FinalizationRegistry<Watched>((target) => target.collected())

/** @internal Replaces the registry (a model test drives collection itself); returns the one it replaced. */
export function setRegistryForTests(replacement: Registry): Registry {
  const previous = registry
  registry = replacement
  return previous
}

/** Watches `owner`: when it is collected, `target.collected()` is called (once per registration). */
export function watch(owner: object, target: Watched): void {
  registry.register(owner, target, target)
}

/** Stops watching every owner registered for `target`. */
export function unwatch(target: Watched): void {
  registry.unregister(target)
}

// Why registration is deferred, and what it costs: registering an object with
// a FinalizationRegistry makes every young-generation GC slower for as long
// as the object lives (measured at about 7 µs per request with 64 in flight,
// young GCs 3× slower). So a new owner is not registered at once: it waits
// for the event loop's next check phase (setImmediate), and is registered
// then only if its body is still open and someone needs to know (the
// producer still holds a connection, or an observer waits). Most bodies are
// read, or have fully arrived, by then. The cost is a window of one event
// loop turn in which a dropped response is not noticed; it is noticed at the
// next GC after that, which is all a FinalizationRegistry promises anyway.
let deferred: Array<Watched | object> = []

function adoptDeferred(): void {
  const list = deferred
  deferred = []
  for (let i = 0; i < list.length; i += 2) (list[i] as Watched).adopt(list[i + 1]!)
}

// Taken when the module loads: a test that fakes timers afterwards (vitest,
// jest) must not hold responses in `deferred` until it advances its clock.
const checkPhase = setImmediate
/** Owners held at most before a batch is adopted at once (timers faked before this module loaded). */
const MAX_DEFERRED = 1024

/** Calls `target.adopt(owner)` at the event loop's next check phase. */
export function deferWatch(target: Watched, owner: object): void {
  if (deferred.length === 0) checkPhase(adoptDeferred)
  else if (deferred.length >= 2 * MAX_DEFERRED) adoptDeferred()
  deferred.push(target, owner)
}
