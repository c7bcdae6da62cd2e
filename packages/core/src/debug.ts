import { debuglog } from 'node:util'

/** DebugLog writes one line to stderr, formatted as `util.format` does. */
export type DebugLog = (message: string, ...args: unknown[]) => void

/**
 * debugLog returns the logger of the `NODE_DEBUG` section `roundtrip:<section>`
 * (through `util.debuglog`), or undefined when `NODE_DEBUG` enables neither
 * that section nor `roundtrip` as a whole, so that a caller that sets up its
 * logging only when this returns a logger costs nothing otherwise.
 *
 * Sections are matched as `util.debuglog` matches them (comma-separated,
 * case-insensitive, `*` as a wildcard): `NODE_DEBUG=roundtrip:pool` enables
 * one section (lines start `ROUNDTRIP:POOL <pid>:`), `NODE_DEBUG=roundtrip*`
 * every section, and `NODE_DEBUG=roundtrip` every section too, on the
 * `ROUNDTRIP <pid>:` logger with the section name first. Node reads
 * `NODE_DEBUG` once, when the process starts.
 *
 * @example
 * ```ts
 * const log = debugLog('pool') // NODE_DEBUG=roundtrip:pool
 * log?.('dial %s', 'http://127.0.0.1:8080')
 * ```
 */
export function debugLog(section: string): DebugLog | undefined {
  const own = debuglog(`roundtrip:${section}`)
  if (own.enabled) return own
  const all = debuglog('roundtrip')
  if (all.enabled) return (message, ...args) => all(`${section} ${message}`, ...args)
  return undefined
}

// Sections whose debug lines are set up: once per process, however many
// clients (Transports, fetch functions, trackers) are made.
const started = new Set<string>()

/**
 * debugOnce calls `start` with the logger of the `NODE_DEBUG` section
 * `roundtrip:<section>` (see {@link debugLog}) the first time it is called for
 * that section in this process, and only when `NODE_DEBUG` enables the
 * section; every later call for the section does nothing. A package sets up
 * its debug lines with it, typically by subscribing them to its diagnostics
 * channels, so that a section that is off costs a set lookup per call.
 *
 * @example
 * ```ts
 * debugOnce('fetch', (log) => channels.redirect.subscribe((m) => log('redirect %o', m)))
 * ```
 */
export function debugOnce(section: string, start: (log: DebugLog) => void): void {
  if (started.has(section)) return
  started.add(section)
  const log = debugLog(section)
  if (log !== undefined) start(log)
}
