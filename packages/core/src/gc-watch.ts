// The garbage-collection watch: how a response dropped with its body open
// is noticed, so that its connection is released (and an observer told).
//
// This file holds core's only module-level state of its own: one
// FinalizationRegistry, and the batch of owners waiting for the event loop's
// check phase. Each installed copy of core has its own; that is harmless,
// because a body is only ever registered with the copy that created it (a
// response of another copy calls back into the body through its methods).
// (The maps in internal.ts and context.ts are shared by every copy.)

/** The registry's two operations; a test may put its own in place with {@link setRegistryForTests}. */
export interface Registry {
  register(owner: object, target: GcWatched, token: GcWatched): void
  unregister(token: GcWatched): void
}

let registry: Registry = new FinalizationRegistry<GcWatched>((target) => target.collected())

/** @internal Replaces the registry (a model test drives collection itself); returns the one it replaced. */
export function setRegistryForTests(replacement: Registry): Registry {
  const previous = registry
  registry = replacement
  return previous
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
let deferredTargets: GcWatched[] = []
let deferredOwners: object[] = []

function adoptDeferred(): void {
  const targets = deferredTargets
  const owners = deferredOwners
  deferredTargets = []
  deferredOwners = []
  for (let i = 0; i < targets.length; i++) targets[i]!.adopt(owners[i]!)
}

// Taken when the module loads: a test that fakes timers afterwards (vitest,
// jest) must not hold responses in the batch until it advances its clock.
const checkPhase = setImmediate
/** Owners held at most before a batch is adopted at once (timers faked before this module loaded). */
const MAX_DEFERRED = 1024

function deferWatch(target: GcWatched, owner: object): void {
  if (deferredTargets.length === 0) checkPhase(adoptDeferred)
  else if (deferredTargets.length >= MAX_DEFERRED) adoptDeferred()
  deferredTargets.push(target)
  deferredOwners.push(owner)
}

/**
 * GcWatched is the per-body side of the watch: the owners (the response and
 * its clones) registered for a body, and the one deferred to the check
 * phase. The body settles as collected when the last registered owner goes.
 */
export abstract class GcWatched {
  /** Owners registered; collection settles the body when the last one goes. */
  #refs = 0
  /** An owner waits for the check phase; its adoption will see observers added meanwhile. */
  #deferred = false

  /** Whether the body is still open (no outcome yet). */
  protected abstract isOpen(): boolean
  /** Whether an open body needs watching: the producer holds something, or an observer waits. */
  protected abstract needsWatch(): boolean
  /** The last registered owner of an open body was collected. */
  protected abstract onCollected(): void

  /** The response made over this body: watched, if still needed, from the next check phase. */
  retain(owner: object): void {
    this.watchLater(owner)
  }

  /** Defers `owner` to the check phase, unless one is already waiting or watched (an observer asked). */
  protected watchLater(owner: object): void {
    if (this.#refs > 0 || this.#deferred || !this.isOpen()) return
    this.#deferred = true
    deferWatch(this, owner)
  }

  /**
   * A clone shares the body: from the first clone on, every owner is
   * registered at once, so that `collected` waits for all of them (an
   * observer may watch any one of them).
   */
  retainClone(original: object, copy: object): void {
    if (!this.isOpen()) return
    if (this.#refs === 0) this.#watch(original)
    this.#watch(copy)
  }

  /** The check phase came for the owner deferred by {@link watchLater}: registered now if still needed. */
  adopt(owner: object): void {
    this.#deferred = false
    if (this.#refs === 0 && this.isOpen() && this.needsWatch()) this.#watch(owner)
  }

  /** A registered owner was collected (the registry's callback). */
  collected(): void {
    if (--this.#refs === 0 && this.isOpen()) this.onCollected()
  }

  /** The body settled: its owners need no watching any more. */
  protected unwatchAll(): void {
    if (this.#refs > 0) registry.unregister(this)
  }

  #watch(owner: object): void {
    this.#refs++
    registry.register(owner, this, this)
  }
}
