import { fileURLToPath } from 'node:url'

/**
 * CaptureStack says how much of the requesting code's stack the leak tracker
 * records for each request:
 * - `'caller'`: the frames up to the first one outside roundtrip's own
 *   packages and Node's internals, which names the file and line that made
 *   the request. Cheap: only as many frames as needed are captured.
 * - `'full'`: the whole stack, `Error.stackTraceLimit` frames (at least 10),
 *   starting at that caller.
 * - `true`: same as `'caller'`; `false`: no stack.
 */
export type CaptureStack = boolean | 'caller' | 'full'

/** How many frames `'full'` captures at the least. */
const FULL_FRAMES = 10
/** Past this many frames `'caller'` stops looking for code outside roundtrip. */
const MAX_CALLER_FRAMES = 20

// Our packages sit side by side: `<root>/<name>/dist/*.js` once installed
// (node_modules/@roundtrip/…) and `<root>/<name>/src/*.ts` in this repository.
// A frame in any of them is roundtrip's own; so is one under any
// `@roundtrip/<name>/` folder (pnpm keeps each package under its own root).
function ownFramePattern(): RegExp {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const rootUrl = new URL('../../', import.meta.url)
  const roots = [rootUrl.href, fileURLToPath(rootUrl)].map(escape).join('|')
  return new RegExp(`(?:^(?:${roots})[^/\\\\]+[/\\\\](?:dist|src)[/\\\\])|(?:[/\\\\]@roundtrip[/\\\\][^/\\\\]+[/\\\\](?:dist|src)[/\\\\])`)
}
const ownFrame = ownFramePattern()
// Our own tests sit beside the sources, and they are callers like any other.
const testFile = /\.test\.[cm]?[jt]sx?:\d/

/** The location part of one formatted frame: `file:///a.js:1:2` of `    at f (file:///a.js:1:2)`. */
function locationOf(frame: string): string {
  if (frame.endsWith(')')) {
    const open = frame.lastIndexOf('(')
    if (open !== -1) return frame.slice(open + 1, -1)
  }
  const at = frame.indexOf('at ')
  return at === -1 ? frame : frame.slice(at + 3)
}

/**
 * isCallerFrame reports whether a formatted stack frame belongs to the code
 * that made the request: not roundtrip's own packages (but their tests), not
 * Node's internals, not a native frame without a file.
 */
export function isCallerFrame(frame: string): boolean {
  const location = locationOf(frame)
  if (location.startsWith('node:') || location === 'native' || location.startsWith('<anonymous>')) return false
  return !ownFrame.test(location) || testFile.test(location)
}

/**
 * callerLocation is the `file:line:column` of the first caller frame (see
 * {@link isCallerFrame}) in a stack recorded by the tracker, or undefined.
 */
export function callerLocation(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined
  for (const frame of stack.split('\n')) if (isCallerFrame(frame)) return locationOf(frame)
  return undefined
}

/** Lines of a captured stack, without the header line. */
function framesOf(stack: string | undefined): string[] {
  if (stack === undefined) return []
  const lines = stack.split('\n')
  lines.shift()
  return lines
}

function capture(limit: number, above: Function): string[] {
  const holder: { stack?: string } = {}
  const saved = Error.stackTraceLimit
  Error.stackTraceLimit = limit
  try {
    Error.captureStackTrace(holder, above)
  } finally {
    Error.stackTraceLimit = saved
  }
  // Reading `stack` formats it now: a captured but unformatted stack keeps
  // the frames' functions and receivers alive, and with them, possibly, the
  // very response whose garbage collection we are waiting for.
  return framesOf(holder.stack)
}

/**
 * StackCapturer records where requests are made. It learns how many of
 * roundtrip's own frames usually sit between the tracker and the caller, so
 * that `'caller'` captures just enough frames (capturing costs about half a
 * microsecond per frame, formatting as much again).
 */
export class StackCapturer {
  #full: boolean
  #depth = 2

  constructor(mode: 'caller' | 'full') {
    this.#full = mode === 'full'
  }

  /**
   * The stack of the code that called `above`, from the first caller frame
   * on, as `    at …` lines joined by newlines. When no frame outside
   * roundtrip is found, every captured frame is kept.
   */
  capture(above: Function): string {
    const configured = typeof Error.stackTraceLimit === 'number' ? Error.stackTraceLimit : 0
    const limit = this.#full ? Math.max(configured, FULL_FRAMES) : this.#depth
    let frames = capture(limit, above)
    let index = frames.findIndex(isCallerFrame)
    if (index === -1 && !this.#full && frames.length >= limit) {
      // Deeper than we learnt: look again, further, and remember the depth.
      frames = capture(MAX_CALLER_FRAMES, above)
      index = frames.findIndex(isCallerFrame)
      if (index !== -1) this.#depth = index + 1
    }
    return (index === -1 ? frames : frames.slice(index)).join('\n')
  }
}
