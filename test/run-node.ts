// For tests that need a fresh Node process (NODE_DEBUG is read once, at
// startup): shared by the packages' tests, like setup-handles.ts.
import { execFile } from 'node:child_process'

/** How long a child may run, in ms: the machine may be loaded. */
const CHILD_TIMEOUT = 40_000
/** The timeout of a test that spawns one child, in ms. */
export const SPAWN_TEST_TIMEOUT = 45_000

/**
 * runNode runs `code` (an ES module) in a child Node with `NODE_DEBUG` set
 * as given and resolves with its stderr. The child runs in the test's
 * working directory (the package's folder), so its `@roundtrip/*` imports
 * are the packages' builds: a package whose tests spawn one builds itself
 * before its tests (its turbo.json).
 */
export function runNode(code: string, nodeDebug: string): Promise<string> {
  const env = { ...process.env, NODE_DEBUG: nodeDebug }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { env, timeout: CHILD_TIMEOUT }, (error, _stdout, stderr) =>
      error === null ? resolve(stderr) : reject(new Error(`child failed (${error.signal ?? `exit ${String(error.code)}`}): ${error.message}\n${stderr}`)),
    )
  })
}
