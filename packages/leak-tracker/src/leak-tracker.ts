import { abortBody, observeBody, redactUrl, RoundTripError, type Middleware, type RoundTripper } from '@roundtrip/core'
import { describeLeak, ERR_LEAKED_BODY, LeakError, type Leak } from './leak.js'
import { captureStack, type CapturedStack, type StackMode } from './stack.js'

/** Options for {@link leakTracker}. Durations are milliseconds. */
export interface LeakTrackerOptions {
  /**
   * Called for each leak found by garbage collection, by `maxAge` or at exit.
   * Default: `process.emitWarning` with code `RT_LEAKED_BODY` and a message
   * saying what leaked, where it was requested and how to fix it.
   */
  onLeak?: (leak: Leak) => void
  /** Report a body still open this long after its request was made. Default: off (undefined or 0). */
  maxAge?: number
  /** With `maxAge`: cancel a body once reported, which closes its connection. Default false. */
  reclaim?: boolean
  /**
   * Record where each request was made: `true`/`'full'` (default) keeps the
   * stack; `'caller'` keeps fewer frames, enough to name the caller's file
   * and line, at a lower cost; `false`/`'off'` records nothing.
   */
  captureStack?: boolean | StackMode
  /** Report bodies still open when the process exits. Default false. */
  reportOnExit?: boolean
  /** The clock, in ms (for tests). Default `performance.now`. */
  now?: () => number
}

/**
 * LeakTracker is a middleware (use it in `compose`) that tracks every
 * response body until it is read to the end or cancelled, plus the methods
 * to inspect what is still open.
 */
export interface LeakTracker extends Middleware {
  /** The responses whose bodies are open right now, oldest first. */
  outstanding(): Leak[]
  /**
   * Throws a {@link LeakError} (code `RT_LEAKED_BODY`) listing every open
   * body, for `afterEach` in a test suite. The listed bodies are then no
   * longer tracked, so one leak fails one test.
   */
  assertNoLeaks(): void
  /** Stops the `maxAge` timer and the exit report; tracking of new requests stops. */
  dispose(): void
}

interface Entry {
  /** Kept to name the request in a report; its URL is only serialized then. */
  request: Request
  status: number
  started: number
  stack: CapturedStack | undefined
  response: WeakRef<Response> | undefined
}

function toLeak(entry: Entry, kind: Leak['kind'], now: number): Leak {
  return {
    kind,
    method: entry.request.method,
    url: redactUrl(entry.request.url),
    status: entry.status,
    ageMs: now - entry.started,
    stack: entry.stack?.stack,
    requestedAt: entry.stack?.caller,
  }
}

function warn(leak: Leak): void {
  process.emitWarning(describeLeak(leak), { code: ERR_LEAKED_BODY, detail: leak.stack ?? '' })
}

function stackMode(option: LeakTrackerOptions['captureStack']): StackMode {
  if (option === undefined || option === true) return 'full'
  if (option === false) return 'off'
  return option
}

/**
 * leakTracker returns a {@link LeakTracker}: a middleware that finds every
 * response body that is never read nor cancelled — the bug that pins a
 * connection until garbage collection, if ever. It reports a body when its
 * response is garbage-collected unread, when it stays open past `maxAge`,
 * when `outstanding()`/`assertNoLeaks()` is called, and at process exit if
 * asked. It never changes status, headers, `url`, `redirected` or the bytes.
 *
 * @example
 * ```ts
 * const tracker = leakTracker({ maxAge: 30_000, reclaim: true })
 * const fetch = createFetch(compose(new Transport(), tracker))
 * afterEach(() => tracker.assertNoLeaks())
 * ```
 */
export function leakTracker(options: LeakTrackerOptions = {}): LeakTracker {
  const onLeak = options.onLeak ?? warn
  const now = options.now ?? (() => performance.now())
  const mode = stackMode(options.captureStack)
  const maxAge = options.maxAge ?? 0
  if (!(maxAge >= 0)) throw new RangeError(`leakTracker: maxAge must be a number of ms >= 0, got ${String(maxAge)}`)
  const open = new Set<Entry>()
  let disposed = false

  const report = (entry: Entry, kind: Leak['kind']): void => {
    try {
      onLeak(toLeak(entry, kind, now()))
    } catch (error) {
      queueMicrotask(() => {
        throw error
      })
    }
  }

  let timer: NodeJS.Timeout | undefined
  if (maxAge > 0) {
    timer = setInterval(() => {
      const t = now()
      for (const entry of open) {
        if (t - entry.started < maxAge) continue
        open.delete(entry)
        report(entry, 'aged')
        if (options.reclaim === true) {
          const response = entry.response?.deref()
          if (response !== undefined) {
            abortBody(response, new RoundTripError(ERR_LEAKED_BODY, `body reclaimed by the leak tracker after ${maxAge} ms (${entry.request.method} ${redactUrl(entry.request.url)})`))
          }
        }
      }
    }, Math.max(10, Math.min(maxAge / 2, 1000)))
    timer.unref()
  }

  const onExit = (): void => {
    for (const entry of open) report(entry, 'exit')
    open.clear()
  }
  if (options.reportOnExit === true) process.once('exit', onExit)

  const middleware = (next: RoundTripper): RoundTripper => {
    const tracked: RoundTripper = {
      roundTrip(request: Request): Promise<Response> {
        if (disposed) return next.roundTrip(request)
        const stack = captureStack(mode, tracked.roundTrip)
        const started = now()
        return next.roundTrip(request).then((response) => {
          const entry: Entry = { request, status: response.status, started, stack, response: undefined }
          open.add(entry)
          let settled = false
          const observed = observeBody(response, (outcome) => {
            settled = true
            if (!open.delete(entry)) return
            if (outcome === 'collected') report(entry, 'collected')
          })
          if (!settled && options.reclaim === true) entry.response = new WeakRef(observed)
          return observed
        })
      },
    }
    return tracked
  }

  return Object.assign(middleware, {
    outstanding(): Leak[] {
      const t = now()
      return [...open].map((entry) => toLeak(entry, 'open', t))
    },
    assertNoLeaks(): void {
      if (open.size === 0) return
      const t = now()
      const leaks = [...open].map((entry) => toLeak(entry, 'open', t))
      open.clear()
      throw new LeakError(leaks)
    },
    dispose(): void {
      disposed = true
      if (timer !== undefined) clearInterval(timer)
      process.off('exit', onExit)
    },
  })
}
