import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

/** run is `child_process.execFile` as a promise of `{ stdout, stderr }`; on a failure its error carries both. */
export const run = promisify(execFile)
