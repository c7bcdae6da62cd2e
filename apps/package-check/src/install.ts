import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from './run.js'

/**
 * npmEnv is the environment for an npm run outside the workspace: without
 * the variables the outer `npm test` set (a workspace, a package, a
 * lifecycle), which would make the inner npm act on the repository. The
 * cache setting stays: installs reuse what the workspace's install fetched.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(key) || /^npm_config_(workspace|workspaces|include_workspace_root|prefix|global|location)$/.test(key)) continue
    env[key] = value
  }
  return env
}

/**
 * installProject makes a fresh project in `dir` (not under the repository, so
 * no workspace link can be found by walking up) and installs `tarballs` into
 * it with npm: the packages from their tarballs, their third-party
 * dependencies from the registry (the npm cache first).
 */
export async function installProject(dir: string, tarballs: string[]): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'fresh-install', private: true, type: 'module' }, null, 2)}\n`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error', ...tarballs], {
    cwd: dir,
    env: npmEnv(),
    maxBuffer: 16 * 1024 * 1024,
  })
}
