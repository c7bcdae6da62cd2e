import { getContext, withContext, type RequestContext } from '@roundtrip/core'
import { Tracked } from './tracked.js'

/** The trace hooks the tracker listens to, as the Transport calls them (its `ClientTrace`, by shape). */
interface TraceHooks {
  getConn?(key: string): void
  gotConn?(info: unknown): void
  putIdleConn?(error?: Error): void
}

/** On a trace layered over the caller's: the tracked request it reports to, and the caller's trace. */
const LAYERED = Symbol('roundtrip.leak-tracker.layered')
interface Layered {
  tracked: Tracked
  theirs: TraceHooks
}

function layeredOf(trace: unknown): Layered | undefined {
  return (trace as { [LAYERED]?: Layered } | undefined)?.[LAYERED]
}

/**
 * attachTrace makes `tracked` the trace of `request` for the layers below
 * (the Transport reads it from core's request context). A caller's trace
 * keeps working: the tracker's trace inherits its hooks (a class's too) and
 * calls the caller's `getConn`, `gotConn` and `putIdleConn` after its own. A
 * request sent again through the same tracker gets the caller's trace, not
 * this tracker's twice; a second tracker layers over the first.
 */
export function attachTrace(request: Request, tracked: Tracked): void {
  let theirs = (getContext(request) as { trace?: TraceHooks }).trace
  if (theirs instanceof Tracked && theirs.listener === tracked.listener) theirs = undefined
  const layered = layeredOf(theirs)
  if (layered !== undefined && layered.tracked.listener === tracked.listener) theirs = layered.theirs
  let trace: TraceHooks = tracked
  if (theirs !== undefined) trace = layer(tracked, theirs)
  withContext(request, { trace } as Partial<RequestContext>)
}

function layer(tracked: Tracked, theirs: TraceHooks): TraceHooks {
  const trace = Object.create(theirs) as TraceHooks & { [LAYERED]: Layered }
  Object.defineProperty(trace, LAYERED, { value: { tracked, theirs } })
  // Closures made by a function, not literals assigned here: V8 pretenures
  // those, and a dead one then keeps its request alive through young GCs.
  trace.getConn = both(tracked, theirs, 'getConn')
  trace.gotConn = both(tracked, theirs, 'gotConn')
  trace.putIdleConn = both(tracked, theirs, 'putIdleConn')
  return trace
}

/** A hook calling the tracker's, then the caller's of the same name (with the caller's trace as `this`). */
function both(tracked: Tracked, theirs: TraceHooks, name: 'getConn' | 'gotConn' | 'putIdleConn'): (arg: never) => void {
  const hooks = tracked as unknown as Record<typeof name, (arg: unknown) => void>
  const their = theirs as Record<typeof name, ((arg: unknown) => void) | undefined>
  return (arg) => {
    hooks[name](arg)
    their[name]?.(arg)
  }
}
