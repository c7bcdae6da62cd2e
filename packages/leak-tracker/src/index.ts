export { leakTracker, type LeakTracker, type LeakTrackerOptions } from './leak-tracker.js'
export { LeakError, describeLeak, ERR_LEAKED_BODY, type Leak } from './leak.js'
export type { StackMode } from './stack.js'
