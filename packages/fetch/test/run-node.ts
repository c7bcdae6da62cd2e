import { execFile } from 'node:child_process'

/**
 * runNode runs `code` (an ES module) in a child Node with `NODE_DEBUG` set
 * as given and resolves with its stderr; the child's imports resolve from
 * this package's folder, so `@roundtrip/*` are the builds.
 */
/** How long a child may run, in ms: the machine may be loaded (the tests that spawn one allow {@link SPAWN_TEST_TIMEOUT}). */
const CHILD_TIMEOUT = 40_000
/** The timeout of a test that spawns one child, in ms. */
export const SPAWN_TEST_TIMEOUT = 45_000

export function runNode(code: string, nodeDebug: string): Promise<string> {
  const env = { ...process.env, NODE_DEBUG: nodeDebug }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { env, timeout: CHILD_TIMEOUT }, (error, _stdout, stderr) =>
      error === null ? resolve(stderr) : reject(new Error(`child failed (${error.signal ?? `exit ${String(error.code)}`}): ${error.message}\n${stderr}`)),
    )
  })
}
