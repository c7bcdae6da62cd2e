import type { Leak } from './leak.js'
import type { DEFAULT_MAX_STACKS_PER_SECOND } from './sampler.js'
import type { CaptureStack } from './stack.js'

/** DEFAULT_BREAK_DEADLOCKS_AFTER is the time in ms `breakDeadlocks: true` lets an unread body block a waiting request. */
export const DEFAULT_BREAK_DEADLOCKS_AFTER = 1000

/**
 * Which leaks reach `onLeak` (and fail `assertNoLeaks()`):
 * - `'connection'` (default): bodies that held a connection, and those of
 *   unknown severity (over a RoundTripper other than the Transport);
 * - `'all'`: also bodies that held only memory (the response had fully
 *   arrived and its connection was back in the pool).
 * Leaks not reported are still counted in `summary()`.
 */
export type ReportLevel = 'connection' | 'all'

/** Options for {@link leakTracker}. Every field is optional. */
export interface LeakTrackerOptions {
  /**
   * Called once for each leak reported (see {@link Leak} for what it
   * carries, `report` and `ignoreLibraries` for which are). It may be called
   * from a timer, from garbage collection or at process exit, so it must be
   * quick, synchronous and must not throw (an error it throws is rethrown on
   * a later tick). Default: {@link warnLeak}, a process warning with code
   * `RT_LEAKED_BODY`.
   */
  onLeak?: (leak: Leak) => void
  /** Which leaks are reported (see {@link ReportLevel}). Default `'connection'`. */
  report?: ReportLevel
  /**
   * npm package names (`'ky'`, `'@aws-sdk/client-s3'`): a leak whose request
   * went through one of them (its stack shows it, see {@link Leak.via}) is
   * counted but not reported. For a library whose leaks you know of and
   * cannot fix. Needs `captureStack`. Default: none.
   */
  ignoreLibraries?: readonly string[]
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
   * The deadlock breaker. When a request made through the tracker waits for
   * a connection (the Transport's `maxConnsPerHost` is reached) and a body
   * nobody has started reading holds a connection of the same pool, unread
   * for this many ms since it arrived, the oldest such body is cancelled with
   * `RT_BODY_RECLAIMED` (an error naming where it was requested): its
   * connection closes, the waiting request gets a new one, and the body is
   * reported as a `blocking` leak. `true` means
   * {@link DEFAULT_BREAK_DEADLOCKS_AFTER} ms. Undefined, `false` or 0: off
   * (the default); the waiting request then fails with `RT_POOL_EXHAUSTED`
   * after the Transport's `maxWaitTime`, if it has one.
   *
   * The trade-off: a body that your code still means to read, but later
   * than this, is lost (its read rejects). Pick a time above the longest
   * gap between receiving a response and starting to read its body. It acts
   * only on the Transport's pools (over another RoundTripper it does
   * nothing), only for requests made through this tracker, and needs one
   * `WeakRef` per response (about 2 µs).
   */
  breakDeadlocks?: number | boolean
  /**
   * How much of the requesting code's stack to record with each request (see
   * {@link CaptureStack}). Default `'caller'`: the file and line that made the
   * request (see the README's Cost); `false` records nothing.
   */
  captureStack?: CaptureStack
  /**
   * How many requests a second have their stack recorded (V8's capture costs
   * a few microseconds a request). Past it, a request's stack is recorded only
   * when its endpoint (method and URL without query) has leaked unrecorded
   * before, so a leak that repeats is soon reported with its line. Default
   * {@link DEFAULT_MAX_STACKS_PER_SECOND}: at development and test rates every
   * request is recorded. `Infinity`: every request, whatever the rate.
   */
  maxStacksPerSecond?: number
  /**
   * Frames to skip when looking for your code's line, besides roundtrip's,
   * `node_modules` and Node's: a string matches a file path containing it, a
   * RegExp is tested against the file path or URL. For your own wrappers
   * around the client (`'src/http/client.ts'`). Default: none.
   */
  ignore?: ReadonlyArray<string | RegExp>
  /**
   * When true, the bodies still open when the process exits are reported
   * (kind `exit`), from a `process.on('exit')` listener that `dispose()`
   * removes. Default false.
   */
  reportOnExit?: boolean
}
