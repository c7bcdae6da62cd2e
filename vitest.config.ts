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
    // Each test file in its own process: the handle check in the setup file
    // sees only what that file opened, and --expose-gc is available.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    setupFiles: [fileURLToPath(new URL('./test/setup-handles.ts', import.meta.url))],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
