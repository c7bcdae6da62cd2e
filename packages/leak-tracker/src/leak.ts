import { RoundTripError } from '@roundtrip/core'

/** Error and warning code: a response body was neither read to the end nor cancelled. */
export const ERR_LEAKED_BODY = 'RT_LEAKED_BODY'
/** Error code: the reason a body is cancelled with when the leak tracker reclaims it (see `reclaim`). */
export const ERR_BODY_RECLAIMED = 'RT_BODY_RECLAIMED'

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
  /**
   * Where the request was made: `    at …` stack lines, starting at the first
   * frame outside roundtrip's packages. Undefined when `captureStack` is off.
   */
  stack: string | undefined
  /**
   * `file:line:column` of the code that made the request (the first frame of
   * `stack` outside roundtrip and Node). Undefined when no stack was captured
   * or no such frame was found.
   */
  requestedAt: string | undefined
}

/**
 * LeakKind is how a leak was found:
 * - `collected`: the response was garbage-collected with its body open;
 * - `aged`: the body was still open `maxAge` ms after the response arrived;
 * - `open`: the body was open when `assertNoLeaks()` was called;
 * - `exit`: the body was open when the process exited (`reportOnExit`).
 */
export type LeakKind = 'collected' | 'aged' | 'open' | 'exit'

/** Leak is one response body that was neither read to the end nor cancelled, as reported to `onLeak`. */
export interface Leak extends OpenBody {
  /** How the leak was found. */
  kind: LeakKind
  /** Whether the tracker cancelled the body to free its connection (`reclaim`, `aged` leaks only). */
  reclaimed: boolean
}

function where(leak: Leak): string {
  if (leak.requestedAt !== undefined) return leak.requestedAt
  return leak.stack === undefined ? 'an unknown place (captureStack is off)' : 'an unknown place (no frame outside roundtrip)'
}

function what(leak: Leak): string {
  const age = Math.round(leak.ageMs)
  switch (leak.kind) {
    case 'collected':
      return `was garbage-collected with its body open, ${age} ms after it arrived; it may have held a connection until then`
    case 'aged':
      return leak.reclaimed
        ? `still had its body open ${age} ms after it arrived: the leak tracker cancelled the body (reclaim) to free its connection`
        : `still has its body open ${age} ms after it arrived, holding its connection`
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

function summary(leak: Leak): string {
  return `the response to ${leak.method} ${leak.url} (${leak.status}) ${what(leak)}`
}

/** describeLeak is the one-line account of a leak: what leaked, how it was found, where it was requested. */
export function describeLeak(leak: Leak): string {
  return `${summary(leak)}; requested at ${where(leak)}`
}

/** formatLeak is the whole report of one leak, with its stack and how to fix it, as the default `onLeak` prints it. */
export function formatLeak(leak: Leak): string {
  const stack = leak.stack === undefined ? ' Requested at an unknown place (captureStack is off).' : `\nRequested at:\n${leak.stack}`
  return `${summary(leak)}.${stack}\n${FIX}`
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
