import { leakTracker, type LeakTracker } from '../src/leak-tracker.js'
import type { Leak } from '../src/leak.js'
import type { LeakTrackerOptions } from '../src/options.js'

/** A tracker whose leaks are collected in `leaks`; `leak` resolves with the first one reported. */
export function collectingTracker(options: LeakTrackerOptions): { tracker: LeakTracker; leaks: Leak[]; leak: Promise<Leak> } {
  const leaks: Leak[] = []
  let resolve!: (leak: Leak) => void
  const leak = new Promise<Leak>((r) => (resolve = r))
  const tracker = leakTracker({
    ...options,
    onLeak(l) {
      leaks.push(l)
      resolve(l)
    },
  })
  return { tracker, leaks, leak }
}
