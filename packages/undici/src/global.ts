import type { RoundTripper } from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import { toDispatcher, type RoundTripperDispatcher, type ToDispatcherOptions } from './to-dispatcher.js'

/** Options for {@link install}: those of {@link toDispatcher} but `upgrades`, which install sets to the dispatcher it replaces. */
export type InstallOptions = Omit<ToDispatcherOptions, 'upgrades'>

/**
 * The globals that Node's bundled fetch and npm undici read their default
 * dispatcher from. `.1` is the one every undici from 5 to 7 reads (Node 20's,
 * 22's and 24's fetch, `undici.request`); undici 7 writes `.2` too, for
 * versions that read only that one.
 */
const GLOBALS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')] as const

type Slots = Record<symbol, unknown>
let saved: unknown[] | undefined

function write(values: readonly unknown[]): void {
  GLOBALS.forEach((key, i) => {
    const value = values[i]
    const slots = globalThis as unknown as Slots
    if (Object.getOwnPropertyDescriptor(globalThis, key) !== undefined) slots[key] = value
    // As undici defines them: writable, not enumerable, not configurable.
    else if (value !== undefined) Object.defineProperty(globalThis, key, { value, writable: true, enumerable: false, configurable: false })
  })
}

/**
 * install makes `roundTripper` the global dispatcher of the process: after
 * it, Node's global `fetch`, `undici.request` / `undici.fetch` and anything
 * else that uses undici's global dispatcher send their requests through
 * `roundTripper` (see {@link toDispatcher} for how), except upgrades
 * (Node's `WebSocket`) and `CONNECT`, which go to the dispatcher that was
 * installed before, since a RoundTripper cannot return a socket. Returns the
 * installed dispatcher. Installing again replaces the installed one;
 * {@link uninstall} restores the dispatcher that was there before the first
 * install. The RoundTripper stays yours: `uninstall()` does not close it.
 * `options.trace` gives every dispatch its trace hooks (see
 * {@link ToDispatcherOptions}); it throws `RT_INVALID_ARGUMENT` as
 * toDispatcher does, before anything is installed.
 *
 * @example
 * ```ts
 * const transport = new Transport()
 * install(compose(transport, leakTracker()))
 * await fetch('http://127.0.0.1:8080/') // Node's own fetch, through the Transport
 * console.log(transport.stats())
 * uninstall()
 * await transport.close()
 * ```
 */
export function install(roundTripper: RoundTripper, options: InstallOptions = {}): RoundTripperDispatcher {
  const previous = (saved === undefined ? (globalThis as unknown as Slots)[GLOBALS[0]] : saved[0]) as Dispatcher | undefined
  const dispatcher = toDispatcher(roundTripper, { ...options, upgrades: typeof previous?.dispatch === 'function' ? previous : undefined })
  if (saved === undefined) saved = GLOBALS.map((key) => (globalThis as unknown as Slots)[key])
  write(GLOBALS.map(() => dispatcher))
  return dispatcher
}

/**
 * uninstall puts back the global dispatcher that was there before
 * {@link install}, and returns whether there was an installed one to remove.
 */
export function uninstall(): boolean {
  if (saved === undefined) return false
  write(saved)
  saved = undefined
  return true
}

/** globalDispatcher returns the dispatcher Node's fetch and undici use now (undici's `getGlobalDispatcher()`). */
export function globalDispatcher(): Dispatcher | undefined {
  return (globalThis as unknown as Slots)[GLOBALS[0]] as Dispatcher | undefined
}
