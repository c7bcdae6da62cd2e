// Call hooks: what a layer tells the layers below it for the call it is
// making, without building a new Request. On Node 20 a Request that follows
// an AbortSignal (what `new Request(request, init)` always makes) costs as
// much as a small exchange on a kept-alive connection; a middleware stack
// that derived one per layer doubled the cost of a request. A layer attaches
// its hooks to the request it was given, for the time of its call, and
// detaches them when its call settles; the layers below read them through
// callSignal / callTrace / callHooks.
//
// This leans on the rule Go writes on its RoundTripper: a request is in at
// most one call at a time (callers "should not mutate or reuse the request
// until the Response's Body has been closed").
import { getContext } from './context.js'
import { requestSignal, type CallSignal } from './call-signal.js'

/**
 * CallHooks are the values a layer attaches to a request, with
 * {@link attachHooks}, for the layers below it during its call. Packages add
 * their own keys by declaration merging, as for `RequestContext`.
 */
export interface CallHooks {
  /**
   * Aborts the call below this layer. It must abort whenever the call's
   * signal in effect when it was attached does (`callSignal(request)` at that
   * time; a {@link CallAbortController} over it does): the innermost attached
   * signal is the call's signal.
   */
  signal?: CallSignal
  /** Trace hooks (the Transport's `ClientTrace`), called after the context's and the earlier attached ones. */
  trace?: object
}

type Attached = Readonly<CallHooks> & { readonly [key: string]: unknown }

// The hooks attached to a request live on the request, in a slot keyed by a
// registered symbol (shared by installed copies of core, like the request
// contexts): a property read and an array push per call, where a WeakMap
// keyed by the request cost an ephemeron entry set and deleted per call
// (about 0.2 µs per call with two layers, and work for every scavenge).
// The slot holds undefined when nothing is attached.
const kHooks: unique symbol = Symbol.for('@roundtrip/core.callHooks.v2')
type Carrier = { [kHooks]?: Attached[] | undefined }

// A request that cannot take a property (frozen by its maker) keeps its hooks here.
const frozen = new WeakMap<Request, Attached[]>()
let anyFrozen = false

function listOf(request: Request): Attached[] | undefined {
  const list = (request as Carrier)[kHooks]
  return list !== undefined || !anyFrozen ? list : frozen.get(request)
}

function setList(request: Request, list: Attached[] | undefined): void {
  if (Object.isExtensible(request)) (request as Carrier)[kHooks] = list
  else if (list === undefined) frozen.delete(request)
  else {
    anyFrozen = true
    frozen.set(request, list)
  }
}

/**
 * attachHooks attaches `hooks` to `request` for the call the caller is
 * making with it, and returns the function that detaches them (idempotent).
 * Detach when the call settles: when the layer below resolves (the head
 * arrived) or rejects. Hooks attached to a request are carried over by
 * {@link deriveRequest} (a retry's next attempt), except `signal` when the
 * derived request is given its own. The `hooks` object is kept as given (a
 * layer builds one per call): do not change it once attached. It may be an
 * instance of the layer's own class, whose getters and methods are the hooks
 * (function hooks are called as its methods, see {@link runCallHooks}; a
 * `CallAbortController` is a hooks object carrying its own signal).
 *
 * A request is in at most one call at a time (Go's rule): do not send a
 * request again, or concurrently, before its call settled.
 *
 * @example
 * ```ts
 * const deadline = (ms: number): Middleware => (next) => roundTripper((request) => {
 *   const controller = new CallAbortController(callSignal(request))
 *   const timer = setTimeout(() => controller.abort(new DOMException('deadline', 'TimeoutError')), ms)
 *   const detach = attachHooks(request, { signal: controller.signal })
 *   return tryRoundTrip(next, request).finally(() => { detach(); clearTimeout(timer) })
 * })
 * ```
 */
export function attachHooks(request: Request, hooks: Readonly<CallHooks>): () => void {
  // Kept as given (every layer builds its hooks object for the call): not to be changed once attached.
  const entry = hooks as Attached
  const list = listOf(request)
  if (list === undefined) setList(request, newList(entry))
  else list.push(entry)
  return () => detachHooks(request, hooks)
}

/**
 * newList makes the list of a request's hooks, with room for a second entry:
 * a stack often has two layers that attach (a logger and a deadline), and a
 * push onto a list made as `[entry]` grows it to room for 17 (152 B).
 */
function newList(entry: Attached): Attached[] {
  const list = [entry, entry]
  list.pop()
  return list
}

/**
 * detachHooks detaches `hooks`, attached with {@link attachHooks}, from
 * `request` (nothing when they are not attached). It is what the function
 * `attachHooks` returns does, for a layer that keeps `request` and its hooks
 * object anyway and would rather not make that function per call.
 */
export function detachHooks(request: Request, hooks: Readonly<CallHooks>): void {
  const list = listOf(request)
  if (list === undefined) return
  const i = list.lastIndexOf(hooks as Attached)
  if (i < 0) return
  if (list.length === 1) return setList(request, undefined)
  // Not splice: it builds an array of what it removed. Layers detach innermost first, so this is usually a pop.
  for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j]!
  list.pop()
}

/**
 * callHooks returns the values attached under `key` to `request`, outermost
 * first (an empty array when there are none). The array must not be mutated.
 * To call function hooks, use {@link runCallHooks}, which calls each as a
 * method of its hooks object.
 */
export function callHooks<K extends keyof CallHooks>(request: Request, key: K): ReadonlyArray<NonNullable<CallHooks[K]>> {
  const list = listOf(request)
  if (list === undefined) return NONE
  const values: Array<NonNullable<CallHooks[K]>> = []
  for (const entry of list) {
    const value = entry[key]
    if (value !== undefined && value !== null) values.push(value as NonNullable<CallHooks[K]>)
  }
  return values
}

const NONE: readonly never[] = Object.freeze([])

/** The keys of {@link CallHooks} whose hooks are functions (`onRetry`, and those packages add). */
export type CallHookName = {
  [K in keyof CallHooks]-?: NonNullable<CallHooks[K]> extends (...args: never[]) => unknown ? K : never
}[keyof CallHooks]

/** The arguments of the hooks attached under `K`. */
export type CallHookArgs<K extends CallHookName> = NonNullable<CallHooks[K]> extends (...args: infer A) => unknown ? A : never

/**
 * runCallHooks calls the hook attached under `key` to `request` by each
 * layer above, outermost first, as a method of the hooks object it came in
 * (`this` is that object). So a layer can attach one object of its own
 * class, whose methods are its hooks, instead of a closure per hook and per
 * call. A hook that throws does not keep the others from being called; the
 * first error is thrown after them.
 *
 * @example
 * ```ts
 * runCallHooks(request, 'onRetry', info) // retry(), before each retry
 * ```
 */
export function runCallHooks<K extends CallHookName>(request: Request, key: K, ...args: CallHookArgs<K>): void {
  const list = listOf(request)
  if (list === undefined) return
  // A hook may detach its layer's hooks, which shifts the list under the
  // loop: a list of two or more is run from a copy. One runs as it is.
  callEach(list.length === 1 ? list : list.slice(), key, args)
}

/**
 * callEach calls the hook named `key` of each of `targets` that has one, as
 * its method, with `args`. A hook that throws does not keep the others from
 * being called; the first error is thrown after them.
 */
function callEach(targets: readonly object[], key: PropertyKey, args: unknown[]): void {
  let failed = false
  let first: unknown
  // Those there when the run began: a hook attached meanwhile waits for the next run.
  for (let i = 0, n = targets.length; i < n; i++) {
    const target = targets[i]!
    const hook = (target as Record<PropertyKey, unknown>)[key]
    if (typeof hook !== 'function') continue
    try {
      ;(hook as (...args: unknown[]) => void).apply(target, args)
    } catch (error) {
      if (!failed) first = error
      failed = true
    }
  }
  if (failed) throw first
}

/**
 * callSignal is the signal that aborts the call made with `request`: the
 * innermost signal attached by a layer above ({@link attachHooks}); when
 * there is none, `neverAborted` for a request declared with
 * `withUnabortableSignal` (createFetch's, when its caller passed no
 * `signal`), else `request.signal`. A RoundTripper or middleware that waits
 * on something (a connection, a backoff, a queue) listens to it instead of
 * `request.signal`; it rejects with its `reason`. It is an `AbortSignal`, a
 * {@link CallAbortController}'s signal or `neverAborted`: use only the
 * {@link CallSignal} part (`neverAborts(signal)` says a listener is not
 * worth making).
 */
export function callSignal(request: Request): CallSignal {
  const list = listOf(request)
  if (list !== undefined) {
    for (let i = list.length - 1; i >= 0; i--) {
      const signal = list[i]!.signal
      if (signal !== undefined) return signal
    }
  }
  return requestSignal(request)
}

/**
 * callTrace is the trace of the call made with `request`: the context's
 * `trace` and the traces attached by the layers above, in that order, as one
 * object whose hooks call each of theirs (with its own `this`, class methods
 * included). Undefined when there is none; the context's own object when it is
 * the only one. A hook that throws does not keep the others from being
 * called; the first error is thrown after them.
 */
export function callTrace<T extends object>(request: Request): T | undefined {
  const own = (getContext(request) as { trace?: T }).trace
  const list = listOf(request)
  if (list === undefined) return own
  // The common case, one trace in all (a layer's), is answered without an
  // array: the Transport asks on every call.
  let only: T | undefined
  let count = 0
  for (let i = 0; i < list.length; i++) {
    const trace = list[i]!.trace
    if (trace === undefined || trace === null) continue
    only = trace as T
    count++
  }
  if (count === 0) return own
  if (own === undefined && count === 1) return only
  const attached = callHooks(request, 'trace') as readonly T[]
  return fanOut(own === undefined ? attached : [own, ...attached])
}

/** fanOut is one trace object over several: each hook name resolves to a function calling every trace's hook of that name. */
function fanOut<T extends object>(traces: readonly T[]): T {
  return new Proxy(Object.create(null) as T, new FanOut<T>(traces))
}

/** The Proxy handler of {@link fanOut} (a class, not a literal: its traps are not closures made per call). */
class FanOut<T extends object> implements ProxyHandler<T> {
  readonly #traces: readonly T[]
  readonly #hooks = new Map<PropertyKey, ((...args: unknown[]) => void) | undefined>()

  constructor(traces: readonly T[]) {
    this.#traces = traces
  }

  get(_: T, name: PropertyKey): ((...args: unknown[]) => void) | undefined {
    return this.#resolve(name)
  }

  has(_: T, name: PropertyKey): boolean {
    return this.#resolve(name) !== undefined
  }

  #resolve(name: PropertyKey): ((...args: unknown[]) => void) | undefined {
    if (this.#hooks.has(name)) return this.#hooks.get(name)
    const having = this.#traces.filter((trace) => typeof (trace as Record<PropertyKey, unknown>)[name] === 'function')
    const fn = having.length === 0 ? undefined : (...args: unknown[]) => callEach(having, name, args)
    this.#hooks.set(name, fn)
    return fn
  }
}

/** carryCallHooks attaches to `derived` the hooks `request` carries now; without their signals when `ownSignal`. */
export function carryCallHooks(request: Request, derived: Request, ownSignal: boolean): void {
  const list = listOf(request)
  if (list === undefined) return
  const copy = ownSignal ? list.filter((entry) => entry.signal === undefined || Object.keys(entry).length > 1).map(withoutSignal) : list.slice()
  if (copy.length > 0) setList(derived, copy)
}

function withoutSignal(entry: Attached): Attached {
  if (entry.signal === undefined) return entry
  const { signal: _, ...rest } = entry
  return rest as Attached
}
