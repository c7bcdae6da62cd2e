#!/usr/bin/env node
// The linkcheck command. It is a committed file, not dist/cli.js, for two
// reasons: npm links a package's bin when it installs the workspace, before
// any build has made dist/ (a bin whose file is missing gets no link), and a
// check like `process.argv[1].endsWith('cli.js')` fails when the command runs
// through node_modules/.bin/linkcheck, a symlink with another name.
import { fileURLToPath } from 'node:url'

const built = new URL('../dist/cli.js', import.meta.url)
let cli
try {
  cli = await import(built.href)
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(fileURLToPath(built))) throw error
  process.stderr.write(`linkcheck: ${fileURLToPath(built)} is missing: build the workspace first (npm run build at the repository root)\n`)
  process.exit(1)
}
try {
  process.exitCode = await cli.main(process.argv.slice(2))
} catch (error) {
  process.stderr.write(`linkcheck: ${String(error?.stack ?? error)}\n`)
  process.exitCode = 1
}
