import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * Shared test configuration. Every package runs it from its own folder
 * (`vitest run --config ../../vitest.config.ts`), so tests run against the
 * fresh builds of the package's dependencies and the package's own sources.
 */
// CI runs the suite once per tested Node with this set to the version it
// put first on PATH: a run under any other Node would test nothing new.
const expected = process.env['ROUNDTRIP_EXPECT_NODE']
if (expected !== undefined && expected !== '' && expected !== process.version) {
  throw new Error(`ROUNDTRIP_EXPECT_NODE is ${expected} but vitest runs on Node ${process.version} (${process.execPath})`)
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Test files run in child processes (--expose-gc is available there),
    // one file after another in each: not isolated, so a process imports
    // vitest, undici and the package once instead of once per file (this
    // cut the transport suite's CPU time from ~51 s to ~16 s). The handle
    // check in the setup file takes its baseline before each file, so a file
    // that leaves a handle still fails by itself; a file that changes a
    // global puts it back in its own finally/afterAll.
    pool: 'forks',
    isolate: false,
    execArgv: ['--expose-gc'],
    setupFiles: [fileURLToPath(new URL('./test/setup-handles.ts', import.meta.url))],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
