import { RoundTripError } from '@roundtrip/core'

/** Leak describes a response whose body is still open (neither read to the end nor cancelled). */
export interface Leak {
  /** How it was found: garbage-collected unread, open longer than `maxAge`, still open at a snapshot, or at process exit. */
  kind: 'collected' | 'aged' | 'open' | 'exit'
  /** Request method. */
  method: string
  /** Request URL, credentials removed. */
  url: string
  /** Response status. */
  status: number
  /** Time since the request was made, in ms. */
  ageMs: number
  /** Where the request was made: the stack (when stacks are captured), without the first line. */
  stack: string | undefined
  /** `file:line:column` of the code outside roundtrip that made the request, when known. */
  requestedAt: string | undefined
}

/** Error code and warning code of a leaked response body. */
export const ERR_LEAKED_BODY = 'RT_LEAKED_BODY'

const HOW_TO_FIX = 'Read the body to the end (await response.text(), .json(), .arrayBuffer(), …) or call response.body?.cancel().'

/** describeLeak is the one-paragraph report of a leak: what leaked, where it was requested, how to fix it. */
export function describeLeak(leak: Leak): string {
  const what =
    leak.kind === 'collected'
      ? 'was garbage-collected without its body being read or cancelled'
      : `has had its body open for ${Math.round(leak.ageMs)} ms`
  const where = leak.requestedAt === undefined ? '' : ` Requested at ${leak.requestedAt}.`
  return `Response to ${leak.method} ${leak.url} (status ${leak.status}) ${what}: it pins its connection.${where} ${HOW_TO_FIX}`
}

/** LeakError is thrown by `assertNoLeaks()`: its message lists every open body. */
export class LeakError extends RoundTripError {
  /** The leaks found. */
  readonly leaks: Leak[]

  constructor(leaks: Leak[]) {
    const lines = leaks.map((l) => `- ${l.method} ${l.url} (status ${l.status}, open ${Math.round(l.ageMs)} ms)${l.requestedAt ? ` requested at ${l.requestedAt}` : ''}`)
    super(ERR_LEAKED_BODY, `${leaks.length} response bod${leaks.length === 1 ? 'y was' : 'ies were'} neither read nor cancelled:\n${lines.join('\n')}\n${HOW_TO_FIX}`)
    this.name = 'LeakError'
    this.leaks = leaks
  }
}
