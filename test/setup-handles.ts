// Suite-level leak check: a test file that leaves a socket, server, timer or
// child process open fails. Test files share worker processes (vitest.config.ts
// sets `isolate: false`) and run one after another in each, so this file is
// evaluated once per test file: the baseline is taken before each file's
// tests, and the timer functions are wrapped once per process (the tracking
// state lives on globalThis under a symbol, not in this module's scope).
import { afterAll, beforeAll } from 'vitest'

// Node's global fetch runs over a global dispatcher that whichever undici
// loads first creates: Node's bundled one, or npm undici once a test file
// imports it (its module makes an Agent when the slot is empty). Tests that
// compare with "Node's fetch over its own dispatcher" need the bundled one
// whatever file ran first in this process (npm undici 7 refuses the
// `content-length: 3, 3` Node 20's fetch sends), so the bundled undici is
// loaded here, before any test file: a fetch of a data: URL loads it and
// opens nothing.
await fetch('data:,')

const WATCHED = new Set([
  'TCPSocketWrap',
  'TCPServerWrap',
  'TLSWrap',
  'PipeWrap',
  'PipeServerWrap',
  'ProcessWrap',
  'UDPWrap',
])

// Timers are tracked one by one (the runner has timers of its own that come
// and go, so counting them would not do): every timer set through the global
// functions is remembered until it fires or is cleared, with the stack that
// set it.
interface Timer {
  hasRef(): boolean
  _destroyed?: boolean
}
interface Tracking {
  timers: Map<Timer, string>
  realSetTimeout: typeof setTimeout
}
const KEY = Symbol.for('roundtrip.test.setup-handles')
const slot = globalThis as unknown as { [KEY]?: Tracking }
const tracking: Tracking = slot[KEY] ?? install()
const { timers, realSetTimeout } = tracking

function install(): Tracking {
  const timers = new Map<Timer, string>()
  const realSetTimeout = globalThis.setTimeout
  const realSetInterval = globalThis.setInterval
  const realClearTimeout = globalThis.clearTimeout
  const realClearInterval = globalThis.clearInterval
  function track<F extends (...args: never[]) => unknown>(set: F, repeat: boolean): F {
    return ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const wrapped = repeat
        ? callback
        : (...a: unknown[]) => {
            timers.delete(timer)
            callback(...a)
          }
      const timer = (set as unknown as (...x: unknown[]) => Timer)(wrapped, ms, ...args)
      timers.set(timer, new Error('timer set here').stack ?? '')
      return timer
    }) as unknown as F
  }
  globalThis.setTimeout = Object.assign(track(realSetTimeout, false), realSetTimeout)
  globalThis.setInterval = Object.assign(track(realSetInterval, true), realSetInterval)
  globalThis.clearTimeout = ((t?: Timer) => {
    if (t !== undefined) timers.delete(t)
    realClearTimeout(t as never)
  }) as typeof clearTimeout
  globalThis.clearInterval = ((t?: Timer) => {
    if (t !== undefined) timers.delete(t)
    realClearInterval(t as never)
  }) as typeof clearInterval
  const state = { timers, realSetTimeout }
  slot[KEY] = state
  return state
}

function liveTimers(): string[] {
  const out: string[] = []
  for (const [timer, stack] of timers) {
    if (timer._destroyed === true) timers.delete(timer)
    else if (timer.hasRef()) out.push(stack.split('\n').slice(2, 5).join(' ← '))
  }
  return out
}

function counts(): Map<string, number> {
  const m = new Map<string, number>()
  for (const r of process.getActiveResourcesInfo()) {
    if (WATCHED.has(r)) m.set(r, (m.get(r) ?? 0) + 1)
  }
  return m
}

function excess(base: Map<string, number>): string[] {
  const out: string[] = []
  for (const [k, n] of counts()) {
    const b = base.get(k) ?? 0
    if (n > b) out.push(`${n - b} × ${k}`)
  }
  for (const stack of liveTimers()) out.push(`a timer (${stack.trim()})`)
  return out
}

let baseline = new Map<string, number>()

beforeAll(() => {
  baseline = counts()
  timers.clear()
})

afterAll(async () => {
  // Closing a socket or server completes a few event-loop turns after the
  // call that closes it; wait for those turns (bounded), not for a time.
  let left = excess(baseline)
  for (let i = 0; i < 200 && left.length > 0; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    if (i > 20) await new Promise((resolve) => realSetTimeout(resolve, 5))
    left = excess(baseline)
  }
  if (left.length > 0) {
    throw new Error(`test file left handles open: ${left.join(', ')}`)
  }
})
