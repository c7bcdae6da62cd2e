/**
 * A turn of the event loop, as far as connection reuse cares: it ends at the
 * next check phase. A connection released in the current turn may still have
 * unread bytes from the server in its socket: a close that came with the
 * response, or an unsolicited response right behind it. Those are read in the
 * poll phase that follows, so such a connection is reused only once the turn
 * ended (undici's own pools get the same effect by validating an idle socket
 * a turn before writing to it). Connections handed straight to a waiting
 * request are not delayed.
 */
let turn = 0
let scheduled = false

function endTurn(): void {
  scheduled = false
  turn++
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
