import { CONN_NOT_REDIALED } from './conn.js'
import type { OutgoingBody } from './request-body.js'

// When a request that failed on a reused connection, before any response
// byte, is sent again on another one: the rule both the Request path
// (exchange.ts, call.ts) and the undici direct path (dispatch.ts) follow.

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
 * any response byte, is sent again on another one (Go's `shouldRetryRequest`):
 * - `stale`: whenever (an idempotent method, or an `Idempotency-Key` /
 *   `X-Idempotency-Key` header, with a body that can be sent again);
 * - `unwritten`: only when not one byte of it reached the socket (Go's
 *   `nothingWrittenError`): the server cannot have acted on it, whatever the
 *   method;
 * - `never`: its body cannot be produced again.
 */
export type RetryPolicy = 'stale' | 'unwritten' | 'never'

/** retryPolicy gives the {@link RetryPolicy} of a request. */
export function retryPolicy(request: Request, body: OutgoingBody): RetryPolicy {
  if (!body.replayable) return 'never'
  const headers = request.headers
  if (isIdempotentMethod(request.method) || headers.has('idempotency-key') || headers.has('x-idempotency-key')) return 'stale'
  return 'unwritten'
}

/** Errors undici gives a request it never started to write: the client had closed or was destroyed. */
const NEVER_WRITTEN = new Set(['UND_ERR_DESTROYED', 'UND_ERR_CLOSED', CONN_NOT_REDIALED])

/** neverWritten says whether `error` is one undici gives a request it never started to write. */
export function neverWritten(error: unknown): boolean {
  return NEVER_WRITTEN.has((error as { code?: string }).code ?? '')
}

/** bytesWritten reads a socket's written-byte count, or -1 for a stream (from a `dial` hook) that keeps none. */
export function bytesWritten(socket: unknown): number {
  const n = (socket as { bytesWritten?: unknown }).bytesWritten
  return typeof n === 'number' ? n : -1
}
