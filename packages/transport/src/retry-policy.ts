import { H2_UNPROCESSED, isSocketFailure } from './errors-map.js'

// Where outgoingHeaders (which sees every request header) finds the key.
export { isIdempotencyKey } from './headers.js'

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

/**
 * RetryPolicy says when a request that failed on a reused connection, before
 * any response byte, is sent again on another one (Go's `shouldRetryRequest`).
 * Whatever its policy, a request undici never started (see {@link shouldResend})
 * goes out again: nothing of it was written.
 * - `stale`: whenever (an idempotent method, or an `Idempotency-Key` /
 *   `X-Idempotency-Key` header, with a body that can be sent again);
 * - `unwritten`: only when nothing of it was written; on HTTP/2, also when
 *   the server says it did not process the stream;
 * - `never`: its body cannot be produced again: only when nothing of it was
 *   written (its body was not touched either).
 */
export type RetryPolicy = 'stale' | 'unwritten' | 'never'

/** policyOf is the {@link RetryPolicy} of a request with `method`, an idempotency key header or not (outgoingHeaders' `keyed`), and a body that can be sent again or not. */
export function policyOf(method: string, keyed: boolean, bodyReplayable: boolean): RetryPolicy {
  if (!bodyReplayable) return 'never'
  return keyed || isIdempotentMethod(method) ? 'stale' : 'unwritten'
}

/**
 * MAX_REPLAYS is the most times one request is replayed: sent again after
 * the server may have seen it (see {@link shouldResend}). A server thus sees
 * one request at most `1 + MAX_REPLAYS` times, whichever path sent it.
 */
export const MAX_REPLAYS = 5

/**
 * Resend is how a failed request goes out again (see {@link shouldResend}):
 * `unwritten` (nothing of it was written; not counted) or `replay` (the
 * server may have seen it; counted against {@link MAX_REPLAYS}).
 */
export type Resend = 'unwritten' | 'replay'

/**
 * shouldResend says whether a request that failed with `error` before any
 * response head was handed on is sent again on another connection, and how
 * (undefined: it fails with `error`). The one rule of `roundTrip` (exchange.ts)
 * and of the undici direct path (direct-dispatch.ts), after Go's
 * `shouldRetryRequest`. `reused`: the connection had carried a request
 * before; `started`: undici called the request's `onConnect` (just before
 * its first byte; HTTP/2: once its stream was open); `replays`: the times it
 * was replayed already.
 *
 * - A socket failure on a reused connection, not `started`: it was waiting
 *   on a connection that died under it (undici's check of an idle socket
 *   found it closed, or the client was destroyed). Not one byte was written
 *   and its body was not read: `unwritten`, whatever its method and body
 *   (Go's `nothingWrittenError`). Not counted: the server never saw it, and
 *   each such failure closes a reused connection, which only a response
 *   makes (Go bounds these the same way, by asking for a reused connection).
 * - A socket failure on a reused connection, `started`: the server closed it
 *   as the request went out (Go's `isReused` check). A `replay` under the
 *   `stale` policy (idempotent, its body reproducible).
 * - An HTTP/2 stream the server says it never processed (`REFUSED_STREAM`,
 *   past `GOAWAY`, or a session that took no new stream), on any
 *   connection: a `replay` when its body can be sent again (policy not
 *   `never`, or it was not `started`: its body was not read).
 * - Anything else fails: a fresh connection has no reason to fail but the
 *   server's.
 *
 * A replay comes only while fewer than {@link MAX_REPLAYS} were made: the
 * bound keeps a server that closes every reused connection, or refuses
 * every stream, from seeing the request without end.
 */
export function shouldResend(error: unknown, reused: boolean, started: boolean, policy: RetryPolicy, replays: number): Resend | undefined {
  if ((error as { code?: string } | null)?.code === H2_UNPROCESSED) return (!started || policy !== 'never') && replays < MAX_REPLAYS ? 'replay' : undefined
  if (!reused || !isSocketFailure(error)) return undefined
  if (!started) return 'unwritten'
  return policy === 'stale' && replays < MAX_REPLAYS ? 'replay' : undefined
}
