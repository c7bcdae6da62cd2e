/**
 * A turn of the event loop, as far as connection reuse cares: it ends at the
 * next check phase. A connection released in the current turn may still have
 * unread bytes from the server in its socket: a close (FIN or RST) that came
 * with the response or right behind it, or an unsolicited response. libuv
 * stops reading a socket after a short read (`uv__read`: "return if we didn't
 * fill the buffer"), so those bytes are read only in the next poll phase,
 * which comes after this turn's check phase.
 *
 * So a request that takes such a connection waits for the end of the turn
 * (after-turn.ts's `TurnQueue`), and undici (7.28 and later) then holds its
 * write one more `setImmediate` on a used idle socket while it reads it
 * (GHSA-35p6-xmwp-9g52): together they span that poll phase. Neither is
 * enough alone: undici's hold, started in the turn the response arrived,
 * ends in that turn's check phase, before the poll phase that reads the
 * close (measured: with our wait skipped, 10 of 10 POSTs sent at once were
 * written on a conn whose FIN had arrived with the response, and failed);
 * and our wait alone ends in that same check phase (undici 7.27 writes
 * there). A waiting request handed such a connection as the response ends
 * waits the same way (transport.ts's `handOver`).
 *
 * Which turn it is comes from libuv's own count of loop iterations (Node's
 * `performance.nodeTiming.uvMetricsInfo.loopCount`, Node 20.18 and later),
 * which libuv increments right before each poll phase: a mark from an
 * earlier count was made before a poll phase that has begun since, so its
 * turn's check phase is over; so is it once the end-of-turn immediate (queued
 * when a request of the turn would wait, see {@link expectWaits}) has run in
 * the iteration of the mark. Otherwise a request in the check or timers phase
 * of that iteration waits one turn more than it must (safe). Sequential
 * requests alternating two conns (pool-policy.ts's raceDial) so queue no
 * `setImmediate` per release (measured, Node 20 and 24: about 30 of Node's
 * own function calls per request). Where the count is missing, the turn is
 * counted by a `setImmediate` queued by its first release.
 */
import { performance } from 'node:perf_hooks'

/** Node's libuv metrics, where it has them: `loopCount` is libuv's count of loop iterations. */
const timing = performance.nodeTiming as { readonly uvMetricsInfo?: { readonly loopCount: number } }
const hasLoopCount = typeof timing.uvMetricsInfo?.loopCount === 'number'

/** Turns counted by the end-of-turn immediate, where libuv's count is missing. */
let turn = 0
/** libuv's count when the end-of-turn immediate last ran: that iteration's turn has ended too. */
let endedAt = -1
/** Whether an end-of-turn immediate is queued. */
let scheduled = false
/** Run once the turn has ended, in the same `setImmediate` (see {@link afterTurn}). */
let tasks: TurnTask[] = []

/** TurnTask is work to do once the current turn has ended (after-turn.ts's TurnQueue). */
export interface TurnTask {
  /** Called once, after the turn that {@link afterTurn} was called in has ended. */
  turnEnded(): void
}

function endTurn(): void {
  scheduled = false
  turn++
  if (hasLoopCount) endedAt = timing.uvMetricsInfo!.loopCount
  const ended = tasks
  if (ended.length === 0) return
  tasks = []
  for (const task of ended) task.turnEnded()
}

/** scheduleEnd queues the end-of-turn immediate, unless it is queued. */
function scheduleEnd(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(endTurn)
}

/** currentTurn returns the number of the current turn, to mark a release with. */
export function currentTurn(): number {
  if (hasLoopCount) return timing.uvMetricsInfo!.loopCount
  scheduleEnd()
  return turn
}

/** sameTurn reports whether `mark` (from {@link currentTurn}) is the turn still running. */
export function sameTurn(mark: number): boolean {
  if (!hasLoopCount) return scheduled && mark === turn
  const count = timing.uvMetricsInfo!.loopCount
  return mark === count && endedAt !== count
}

/**
 * afterTurn has `task` run once the current turn has ended, in one
 * `setImmediate` per turn, whatever waits for it. Queued early (see
 * {@link expectWaits}), it runs before the immediate undici queues after
 * each response (`client[kResume]`, pipelining 1): a request taking a conn
 * released in the turn is then written on it before undici's Client sees it
 * idle (no idle socket `unref`, keep-alive timer, then `ref` again).
 */
export function afterTurn(task: TurnTask): void {
  scheduleEnd()
  tasks.push(task)
}

/**
 * expectWaits queues the end-of-turn immediate now: a conn was just
 * released, and a request that comes in this turn would wait for it (its
 * pool has no conn idle since an earlier turn).
 */
export function expectWaits(): void {
  scheduleEnd()
}
