import { errors } from 'undici'

/** The request context entries (core's `RequestContext`) that carry a dispatch's own limits to the RoundTripper. */
export interface TimeoutContext {
  responseHeaderTimeout?: number
  bodyTimeout?: number
}

/**
 * timeoutContext reads a dispatch's own `headersTimeout` and `bodyTimeout`
 * (ms, 0: none) as the request context entries that carry them through a
 * stack to the Transport, which applies each where it is smaller than its
 * own `responseHeaderTimeout` and `bodyTimeout`. Undefined when the dispatch
 * gives neither (Node's fetch never does): nothing is made then.
 *
 * @throws undici's `InvalidArgumentError` (`invalid headersTimeout`,
 * `invalid bodyTimeout`) for a limit that is not a finite number of 0 or
 * more, as undici's `Request` refuses it.
 */
export function timeoutContext(options: { headersTimeout?: unknown; bodyTimeout?: unknown }): TimeoutContext | undefined {
  const head = options.headersTimeout
  const body = options.bodyTimeout
  if ((head === undefined || head === null) && (body === undefined || body === null)) return undefined
  const context: TimeoutContext = {}
  if (head !== undefined && head !== null) context.responseHeaderTimeout = checked(head, 'headersTimeout')
  if (body !== undefined && body !== null) context.bodyTimeout = checked(body, 'bodyTimeout')
  return context
}

function checked(ms: unknown, name: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new errors.InvalidArgumentError(`invalid ${name}`)
  return ms
}
