/**
 * ClockTimer is a pending callback of a {@link Clock}. Node's `Timeout`
 * is one.
 */
export interface ClockTimer {
  /** Restarts the timer for its full delay, counted from now. */
  refresh(): unknown
  /** Lets the process exit while the timer is pending (Node's `Timeout.unref`); a fake clock may leave it out. */
  unref?(): unknown
}

/**
 * Clock is the time source of a Transport's deadlines: idle timeouts (and
 * the `Keep-Alive: timeout` hints that shorten them), `maxWaitTime`,
 * `connectTimeout`, header and body timeouts under 1 s, and the ages in
 * `stats()`. The Transport takes it as an option, as OkHttp's connection
 * pool takes its task runner, so a test can advance time instead of
 * sleeping. Timeouts of 1 s and more on the response head and body run on
 * undici's own timers, which no clock reaches.
 */
export interface Clock {
  /** The current time in ms on a monotonic scale (as `performance.now()`). */
  now(): number
  /** Calls `callback` once, `ms` ms from now. */
  setTimeout(callback: () => void, ms: number): ClockTimer
  /** Cancels a timer of this clock; a timer that already fired is left alone. */
  clearTimeout(timer: ClockTimer): void
}

/** systemClock is the default {@link Clock}: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
}
