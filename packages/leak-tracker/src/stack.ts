/** Frames that belong to roundtrip itself or to Node, skipped when naming the caller. */
const OWN_FRAME = /[/\\](?:packages[/\\](?:core|transport|fetch|leak-tracker)[/\\](?:src|dist)|node_modules[/\\](?:@roundtrip|undici|vitest|@vitest))[/\\]|\(node:|^\s*at node:|<anonymous>/

/** How much of the stack the tracker records; see `LeakTrackerOptions.captureStack`. */
export type StackMode = 'full' | 'caller' | 'off'

/** CapturedStack is a stack taken when a request starts, formatted only if it is reported. */
export interface CapturedStack {
  /** The stack as text, without the first line. */
  readonly stack: string
  /** `file:line:column` of the first frame outside roundtrip and Node, or undefined. */
  readonly caller: string | undefined
}

class LazyStack implements CapturedStack {
  #error: Error
  #stack: string | undefined
  constructor(error: Error) {
    this.#error = error
  }
  get stack(): string {
    // V8 keeps the frames and formats them on first access of `.stack`:
    // requests that never leak never pay for the text.
    this.#stack ??= (this.#error.stack ?? '').split('\n').slice(1).join('\n')
    return this.#stack
  }
  get caller(): string | undefined {
    for (const line of this.stack.split('\n')) {
      if (OWN_FRAME.test(line)) continue
      const match = /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?\s*$/.exec(line)
      if (match) return match[1]
    }
    return undefined
  }
}

/**
 * captureStack records where a request was made. `full` keeps up to 30
 * frames; `caller` keeps 12, enough to get past roundtrip's own frames to the
 * caller's file and line at a lower cost; `off` records nothing.
 */
export function captureStack(mode: StackMode, below: (...args: never[]) => unknown): CapturedStack | undefined {
  if (mode === 'off') return undefined
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = mode === 'full' ? 30 : 12
  const holder = {} as { stack?: string }
  Error.captureStackTrace(holder, below)
  Error.stackTraceLimit = limit
  return new LazyStack(holder as Error)
}
