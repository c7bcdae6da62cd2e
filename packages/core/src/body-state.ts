// The lifecycle of a tracked body (one made by `createBody`), written down
// the way Go documents wantConn and persistConn. BodySource (body-source.ts)
// holds one of these states and changes it only through `checkTransition`.
//
// What each state means, by side:
//
//   state      producer               consumer                        outcome    a read sees
//   ---------  ---------------------  ------------------------------  ---------  -------------------------------
//   Streaming  may push               unread, or reading a stream     –          queued chunks, then waits
//   Draining   may push               text()/json()/… want it all     –          (the drain takes every chunk)
//   Complete   ended                  not yet at the end              –          queued chunks, then the end
//   Ended      ended                  read to the end                 end        the end
//   Failed     errored                may still read the queue        error      queued chunks, then the error
//   Cancelled  told to stop, or done  cancelled                       cancel     the end (the queue is dropped)
//   Aborted    told to stop, or done  aborted by a third party        cancel     the abort reason
//   Collected  told to stop, or done  every owner was collected       collected  RT_BODY_COLLECTED
//
// Collection is watched apart (gc-watch.ts): it only ever brings the
// `collect` event below, once no response that owns the body is reachable.
//
// Transitions, by event (anything else is an internal error):
//
//   event              from                          to
//   -----------------  ----------------------------  -------------------------------------------
//   end()              Streaming                     Complete (then Ended, if a stream read waits)
//   end()              Draining                      Ended (the drain gets every chunk)
//   error()            Streaming, Draining           Failed
//   readAll()          Streaming                     Draining
//   readAll()          Complete                      Ended
//   stream read        Complete, queue empty         Ended (after clone(), through either branch)
//   cancel()           Streaming, Complete           Cancelled
//   abort()            Streaming, Draining, Complete Aborted
//   collect            Streaming, Complete           Collected
//
// Events that are ignored, on purpose:
// - push/end/error once the producer is not Streaming or Draining: a producer
//   may race a cancel (a chunk in flight when the consumer cancelled).
// - cancel/abort/collect in a state with an outcome: the outcome was told.
// - cancel in Draining: text() & co. own the body (a stream over it, opened
//   by touching `response.body` after text(), errors as "unusable").
// - collect in Draining: text() & co. need no response to finish.
//
// Two rules follow from the table and are what the rest relies on:
// - Exactly one outcome: a state with an outcome has no way out, so the
//   outcome is reported once, on entering it.
// - The connection is released exactly once: the producer's `cancel` is
//   called only on a move from a state where it may push (Streaming,
//   Draining) to Cancelled, Aborted or Collected; otherwise the producer
//   released it itself by ending or failing. Both happen once at most.
import { internalError } from './errors.js'

/**
 * BodyOutcome is how a response body settled:
 * - `end`: the consumer read it to the end (by any API);
 * - `cancel`: the consumer cancelled it (`body.cancel()`, a reader's
 *   `cancel()`, an aborted `pipeTo`, …), or `abortBody` did;
 * - `error`: the body failed (the connection broke, a timeout fired);
 * - `collected`: the response was garbage-collected while its body was open.
 */
export type BodyOutcome = 'end' | 'cancel' | 'error' | 'collected'

/** The states of a tracked body; see the table at the top of this file. */
export const State = {
  Streaming: 0,
  Draining: 1,
  Complete: 2,
  Ended: 3,
  Failed: 4,
  Cancelled: 5,
  Aborted: 6,
  Collected: 7,
} as const
export type State = (typeof State)[keyof typeof State]

const names = Object.keys(State) as Array<keyof typeof State>

/** The outcome each state reports on entry; undefined while the body is open. */
export const outcomeOf: ReadonlyArray<BodyOutcome | undefined> = [
  undefined,
  undefined,
  undefined,
  'end',
  'error',
  'cancel',
  'cancel',
  'collected',
]

const bit = (...states: State[]): number => states.reduce<number>((mask, s) => mask | (1 << s), 0)

/** For each state, the states it may move to (a bit per state): the table above. */
const allowed: readonly number[] = [
  /* Streaming */ bit(State.Draining, State.Complete, State.Failed, State.Cancelled, State.Aborted, State.Collected),
  /* Draining  */ bit(State.Ended, State.Failed, State.Aborted),
  /* Complete  */ bit(State.Ended, State.Cancelled, State.Aborted, State.Collected),
  /* Ended     */ 0,
  /* Failed    */ 0,
  /* Cancelled */ 0,
  /* Aborted   */ 0,
  /* Collected */ 0,
]

/** Whether the producer may still push: the states from which its `cancel` releases the connection. */
export function isProducing(state: State): boolean {
  return state <= State.Draining
}

/** Whether the move `from` → `to` must tell the producer to stop: the one place a connection is released by the body. */
export function stopsProducer(from: State, to: State): boolean {
  return isProducing(from) && (to === State.Cancelled || to === State.Aborted || to === State.Collected)
}

/** Whether the body has an outcome (a state with no way out). */
export function isSettled(state: State): boolean {
  return state >= State.Ended
}

/** Throws `internal error: …` unless the table allows `from` → `to`. */
export function checkTransition(from: State, to: State): void {
  if ((allowed[from]! & (1 << to)) === 0) {
    throw internalError(`body state ${names[from]} cannot move to ${names[to]}`)
  }
}
