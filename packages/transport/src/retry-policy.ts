import { isSocketFailure } from './errors-map.js'
import type { OutgoingBody } from './request-body.js'

// When a request that failed on a reused connection, before any response
// byte, is sent again on another one: the rule both the Request path
// (exchange.ts, call.ts) and the undici direct path (direct-dispatch.ts) follow.

/**
 * StaleConnError wraps a failure on a reused connection before any response
 * byte arrived, for a request that may be sent again (Go's
 * `shouldRetryRequest`). The transport retries it on another connection.
 */
export class StaleConnError extends Error {
  constructor(readonly failure: Error) {
    super(failure.message, { cause: failure })
  }
}

/** The methods Go's `isReplayable` sends again: the idempotent ones of RFC 9110 but PUT and DELETE. */
const REPLAYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** isIdempotentMethod says whether `method` may be sent again after a stale conn whatever its headers (Go's `isReplayable`). */
export function isIdempotentMethod(method: string): boolean {
  return REPLAYABLE_METHODS.has(method)
}

/** isIdempotencyKey says whether lower-case header `name` marks a request as safe to send again (`Idempotency-Key`, `X-Idempotency-Key`). */
export function isIdempotencyKey(name: string): boolean {
  return name === 'idempotency-key' || name === 'x-idempotency-key'
}

/**
 * RetryPolicy says when a request that failed on a reused connection, before
 * any response byte, is sent again on another one (Go's `shouldRetryRequest`).
 * Whatever its policy, a request undici never started (see {@link mayResend})
 * goes out again: nothing of it was written.
 * - `stale`: whenever (an idempotent method, or an `Idempotency-Key` /
 *   `X-Idempotency-Key` header, with a body that can be sent again);
 * - `unwritten`: only when nothing of it was written; on HTTP/2, also when
 *   the server says it did not process the stream;
 * - `never`: its body cannot be produced again: only when nothing of it was
 *   written (its body was not touched either).
 */
export type RetryPolicy = 'stale' | 'unwritten' | 'never'

/** retryPolicy gives the {@link RetryPolicy} of a request. */
export function retryPolicy(request: Request, body: OutgoingBody): RetryPolicy {
  if (!body.replayable) return 'never'
  const headers = request.headers
  return policyOf(request.method, headers.has('idempotency-key') || headers.has('x-idempotency-key'), true)
}

/** policyOf is the {@link RetryPolicy} of a request with `method`, an idempotency key header or not, and a body that can be sent again or not (the direct undici path's, which has no Request). */
export function policyOf(method: string, keyed: boolean, bodyReplayable: boolean): RetryPolicy {
  if (!bodyReplayable) return 'never'
  return keyed || isIdempotentMethod(method) ? 'stale' : 'unwritten'
}

/**
 * mayResend says whether a request that failed with `error` on a connection,
 * before any response byte, is sent again on another one.
 *
 * Only after a socket failure on a reused connection (a fresh one has no
 * reason to fail but the server's: Go's `isReused` check). Then:
 * - not `started`: undici calls a request's `onConnect` just before it writes
 *   its first byte (HTTP/2: once the stream is open), so a request it failed
 *   without that call was waiting on a connection that died under it (undici's
 *   check of an idle socket found it closed, or the client was destroyed).
 *   Not one byte of it was written and its body was not read: it goes out
 *   again whatever its method and body (Go's `nothingWrittenError`), and it
 *   is not a replay of a sent request (no bound on replays applies: each
 *   such failure closes a reused connection, of which there are finitely many);
 * - `started`: only under the `stale` policy (a replay).
 */
export function mayResend(reused: boolean, started: boolean, policy: RetryPolicy, error: unknown): boolean {
  return reused && isSocketFailure(error) && (!started || policy === 'stale')
}
