import { ERR_LEAKED_BODY, formatLeak, type Leak } from './leak.js'

/** LEAK_WARNING_TYPE is the `name` of the process warnings the default `onLeak` emits. */
export const LEAK_WARNING_TYPE = 'RoundTripLeakWarning'

function warningsOff(): boolean {
  return process.env['NODE_NO_WARNINGS'] === '1' || process.execArgv.includes('--no-warnings')
}

/**
 * warnLeak is the default `onLeak`: a process warning with code
 * `RT_LEAKED_BODY` (`process.on('warning')` sees it; Node prints it to
 * stderr unless warnings are off) that says what leaked, where it was
 * requested and how to fix it.
 *
 * At process exit a warning would never be printed (Node emits them on a
 * later tick), so `exit` leaks are written to stderr at once, in the same
 * format.
 */
export function warnLeak(leak: Leak): void {
  const message = formatLeak(leak)
  if (leak.kind !== 'exit') {
    process.emitWarning(message, { type: LEAK_WARNING_TYPE, code: ERR_LEAKED_BODY })
    return
  }
  if (!warningsOff()) process.stderr.write(`(node:${process.pid}) [${ERR_LEAKED_BODY}] ${LEAK_WARNING_TYPE}: ${message}\n`)
}
