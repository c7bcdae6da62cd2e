import { RoundTripError } from '@roundtrip/core'

/** Error and warning code: a response body was neither read to the end nor cancelled. */
export const ERR_LEAKED_BODY = 'RT_LEAKED_BODY'
/** Error code: the reason a body is cancelled with when the leak tracker reclaims it (see `reclaim`). */
export const ERR_BODY_RECLAIMED = 'RT_BODY_RECLAIMED'

/**
 * What an open body held, from the facts the Transport gives (its trace):
 * - `connection`: the response had not fully arrived, so the body held its
 *   connection, and requests to that host may have waited for it;
 * - `memory`: the whole response had arrived and its connection had gone
 *   back to the pool: the unread bytes held only memory;
 * - `unknown`: the RoundTripper below gives no connection facts (not the
 *   Transport): it may have held a connection.
 */
export type Held = 'connection' | 'memory' | 'unknown'

/** OpenBody describes a response whose body is still open: neither read to the end nor cancelled. */
export interface OpenBody {
  /** The request method. */
  method: string
  /** The request URL, without credentials. */
  url: string
  /** The response status. */
  status: number
  /** Time since the response was delivered, in ms. */
  ageMs: number
  /** What the body held (see {@link Held}). */
  held: Held
  /** How long, in ms, the body held its connection after the response was delivered (0 when it held none). */
  connectionHeldMs: number
  /** The Transport's pool the connection belonged to (`http://host:port`), undefined over another RoundTripper. */
  poolKey: string | undefined
  /** Requests made through the tracker that waited for a connection of the same pool while this body held one. */
  waiters: number
  /**
   * Where the request was made: `    at …` lines, starting at the first frame
   * of your code (outside roundtrip, `node_modules` and `ignore`). Undefined
   * when `captureStack` is off or this request was not sampled.
   */
  stack: string | undefined
  /** The `file:line:column` of that first frame, or undefined when there is none. */
  requestedAt: string | undefined
  /** The npm packages the request went through between your code and roundtrip (`['ky']`), nearest to your code last. */
  via: string[]
}

/**
 * LeakKind is how a leak was found:
 * - `collected`: the response was garbage-collected with its body open;
 * - `aged`: the body was still open `maxAge` ms after the response arrived;
 * - `blocking`: the body held a connection that requests were waiting for,
 *   unread for `breakDeadlocks` ms, and the tracker reclaimed it;
 * - `open`: the body was open when `assertNoLeaks()` or `outstanding()` was called;
 * - `exit`: the body was open when the process exited (`reportOnExit`).
 */
export type LeakKind = 'collected' | 'aged' | 'blocking' | 'open' | 'exit'

/** Leak is one response body that was neither read to the end nor cancelled, as reported to `onLeak`. */
export interface Leak extends OpenBody {
  /** How the leak was found. */
  kind: LeakKind
  /** Whether the tracker cancelled the body to free its connection (`reclaim` or `breakDeadlocks`). */
  reclaimed: boolean
}

function where(leak: Leak): string {
  if (leak.requestedAt !== undefined) return leak.requestedAt
  return leak.stack === undefined ? `an unknown place (${NOT_RECORDED})` : 'an unknown place (no frame of your code found)'
}

const NOT_RECORDED =
  'its stack was not recorded: captureStack is off, or the request was past maxStacksPerSecond, and then the next requests to the same URL record theirs'

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** What the body held, as the second half of the summary. */
function heldText(leak: Leak): string {
  switch (leak.held) {
    case 'memory':
      return 'it held only memory: the whole response had arrived and its connection was back in the pool'
    case 'unknown':
      return 'it may have held a connection all that time (the RoundTripper below gives no connection facts)'
    case 'connection': {
      const waited = leak.waiters === 0 ? 'no request waited for it' : `${plural(leak.waiters, 'request', 'requests')} waited for a connection to ${leak.poolKey} meanwhile`
      return `it held a connection to ${leak.poolKey} for ${Math.round(leak.connectionHeldMs)} ms; ${waited}`
    }
  }
}

function what(leak: Leak): string {
  const age = Math.round(leak.ageMs)
  switch (leak.kind) {
    case 'collected':
      return `was garbage-collected with its body open, ${age} ms after it arrived`
    case 'aged':
      return leak.reclaimed
        ? `still had its body open ${age} ms after it arrived: the leak tracker cancelled it (reclaim)`
        : `still has its body open ${age} ms after it arrived`
    case 'blocking':
      return `had its body unread ${age} ms after it arrived while requests waited for its connection: the leak tracker cancelled it (breakDeadlocks)`
    case 'open':
      return `still has its body open, ${age} ms after it arrived`
    case 'exit':
      return `still had its body open at process exit, ${age} ms after it arrived`
  }
}

/** How to fix a leak, once per message. */
export const FIX =
  'Read every response body to the end (await response.text(), .json(), .arrayBuffer(), a reader, for await) ' +
  'or call `await response.body?.cancel()` when you do not need it.'

/** How to fix a leak of this kind, with why it matters. */
function fixFor(leak: Leak): string {
  if (leak.held === 'memory') return `${FIX} This one cost memory only; a larger or slower response would have held its connection.`
  if (leak.held === 'connection') return `${FIX} Until you do, the connection stays busy and other requests to ${leak.poolKey} wait for it.`
  return FIX
}

function summary(leak: Leak): string {
  return `the response to ${leak.method} ${leak.url} (${leak.status}) ${what(leak)}; ${heldText(leak)}`
}

/** describeLeak is the one-line account of a leak: what leaked, what it held, where it was requested. */
export function describeLeak(leak: Leak): string {
  const via = leak.via.length === 0 ? '' : ` via ${leak.via.join(' → ')}`
  return `${summary(leak)}; requested at ${where(leak)}${via}`
}

/** formatLeak is the whole report of one leak, with its stack and how to fix it, as the default `onLeak` prints it. */
export function formatLeak(leak: Leak): string {
  const via = leak.via.length === 0 ? '' : `\n    via ${leak.via.join(' → ')}`
  const stack = leak.stack === undefined ? ` Requested at an unknown place (${NOT_RECORDED}).` : `\nRequested at:\n${leak.stack}${via}`
  return `${summary(leak)}.${stack}\n${fixFor(leak)}`
}

/**
 * LeakError is what `assertNoLeaks()` throws: code `RT_LEAKED_BODY`, with
 * every leak in `leaks` and one line per leak in the message.
 */
export class LeakError extends RoundTripError {
  /** The leaks found, oldest first. */
  readonly leaks: readonly Leak[]

  constructor(leaks: readonly Leak[]) {
    const n = leaks.length
    super(
      ERR_LEAKED_BODY,
      `assertNoLeaks: ${n} response ${n === 1 ? 'body was' : 'bodies were'} neither read to the end nor cancelled:\n` +
        leaks.map((leak) => `  - ${describeLeak(leak)}`).join('\n') +
        `\n${FIX}`,
    )
    this.name = 'LeakError'
    this.leaks = leaks
  }
}
