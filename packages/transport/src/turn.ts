import { rethrowLater } from '@roundtrip/core'

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
 */
let turn = 0
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
  const ended = tasks
  if (ended.length === 0) return
  tasks = []
  // Each task is another Transport's (or pool's) waiting requests: one that throws must not strand the others.
  for (const task of ended) {
    try {
      task.turnEnded()
    } catch (error) {
      rethrowLater(error)
    }
  }
}

/** currentTurn returns the number of the current turn, making sure it ends at the next check phase. */
export function currentTurn(): number {
  if (!scheduled) {
    scheduled = true
    setImmediate(endTurn)
  }
  return turn
}

/** sameTurn reports whether `mark` (from {@link currentTurn}) is the turn still running. */
export function sameTurn(mark: number): boolean {
  return scheduled && mark === turn
}

/**
 * afterTurn has `task` run once the current turn has ended, in the
 * `setImmediate` that ends it: one per turn, whatever waits for it. That
 * immediate was queued by the first release of the turn, so it runs before
 * the one undici queues after each response (`client[kResume]`, pipelining
 * 1): a request taking a conn released in the turn is then written on it
 * before undici's Client sees it idle (no idle socket `unref`, keep-alive
 * timer, then `ref` again).
 */
export function afterTurn(task: TurnTask): void {
  currentTurn()
  tasks.push(task)
}
