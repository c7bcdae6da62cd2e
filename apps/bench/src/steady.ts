// When a client's warm-up reaches its steady speed: the JIT keeps compiling
// a client's hot paths for thousands of requests, and its CPU per request
// falls until it does.

/** STEADY_TOLERANCE is how far above its final CPU per request a client may be and count as steady: 5%. */
export const STEADY_TOLERANCE = 0.05

/**
 * steadyAfter returns how many warm-up requests a client made before its
 * CPU per request stayed within `tolerance` (a fraction) above `final`
 * (its median CPU per request over the measured rounds), given the CPU µs
 * per request of each block of `blockRequests` warm-up requests in order.
 * Each block is smoothed as the median of itself and its two neighbours
 * (the larger of two at the ends), so that one slow moment of a shared
 * machine does not count as not yet steady.
 * Undefined: the warm-up ended above that (or had no blocks, or no final).
 */
export function steadyAfter(blocks: readonly number[], blockRequests: number, final: number, tolerance = STEADY_TOLERANCE): number | undefined {
  if (blocks.length === 0 || !(final > 0)) return undefined
  const limit = final * (1 + tolerance)
  let steadyFrom: number | undefined
  for (let i = 0; i < blocks.length; i++) {
    const window = blocks.slice(Math.max(0, i - 1), i + 2).sort((a, b) => a - b)
    const smoothed = window[Math.floor(window.length / 2)]!
    if (smoothed > limit) steadyFrom = undefined
    else steadyFrom ??= i
  }
  return steadyFrom === undefined ? undefined : steadyFrom * blockRequests
}
