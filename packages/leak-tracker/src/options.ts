import type { Leak } from './leak.js'
import type { CaptureStack } from './stack.js'

/** Options for {@link leakTracker}. Every field is optional. */
export interface LeakTrackerOptions {
  /**
   * Called once for each leak found (see {@link Leak} for what it carries).
   * It may be called from a timer, from garbage collection or at process
   * exit, so it must be quick, synchronous and must not throw (an error it
   * throws is rethrown on a later tick). Default: {@link warnLeak}, a
   * process warning with code `RT_LEAKED_BODY`.
   */
  onLeak?: (leak: Leak) => void
  /**
   * Time in ms after which a body that is still open is reported as an
   * `aged` leak, counted from when the response was delivered. Undefined or
   * 0: bodies are never reported for their age. Bodies that are streamed on
   * purpose for a long time (downloads, server-sent events) will be
   * reported too: pick a value above your longest legitimate read.
   */
  maxAge?: number
  /**
   * When true, an `aged` body that nobody has started reading is cancelled,
   * which frees its connection (the Transport closes it). A body someone is
   * reading (a reader is locked on it, or `text()` is under way) is reported
   * but left alone. Needs `maxAge`. Default false.
   */
  reclaim?: boolean
  /**
   * How much of the requesting code's stack to record with each request (see
   * {@link CaptureStack}). Default `'caller'`: the file and line that made the
   * request, at a few microseconds per request (see the README's Cost);
   * `false` records nothing and costs nothing.
   */
  captureStack?: CaptureStack
  /**
   * When true, the bodies still open when the process exits are reported
   * (kind `exit`), from a `process.on('exit')` listener that `dispose()`
   * removes. Default false.
   */
  reportOnExit?: boolean
}
