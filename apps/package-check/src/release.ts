#!/usr/bin/env node
// The release dry run (`npm run release` at the root, after the build and
// lint): it changes no version and publishes nothing. It shows what the
// pending changesets would bump, packs every public package as `npm publish`
// would, checks each tarball can be installed on its own (tarballProblems)
// and deletes the tarballs. A real release is `npx changeset version`
// (versions, CHANGELOGs, sibling ranges), a commit, then `npx changeset publish`.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packAll, tarballProblems } from './pack.js'
import { publicPackages, root } from './workspace.js'
import { run } from './run.js'

async function main(): Promise<number> {
  const status = await run(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'status', '--verbose'], { cwd: root }).catch(
    (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
  )
  process.stdout.write(`Pending changesets (what \`changeset version\` would do; nothing is versioned here):\n${status.stdout}${status.stderr}\n`)
  const packages = await publicPackages()
  const destination = await mkdtemp(join(tmpdir(), 'roundtrip-release-'))
  let failed = 0
  try {
    const tarballs = await packAll(packages, destination)
    for (const pkg of packages) {
      const tarball = tarballs.find((t) => t.name === pkg.name)
      const problems = tarball === undefined ? ['npm pack made no tarball'] : tarballProblems(tarball, pkg, packages)
      const size = tarball === undefined ? '' : ` ${tarball.files.length} files, ${(tarball.size / 1024).toFixed(1)} KiB`
      process.stdout.write(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${pkg.name}@${pkg.version}${size}\n`)
      for (const problem of problems) process.stdout.write(`       ${problem}\n`)
      if (problems.length > 0) failed++
    }
  } finally {
    await rm(destination, { recursive: true, force: true })
  }
  process.stdout.write(failed === 0 ? `\nDry run: ${packages.length} packages would publish as above. To release: npx changeset version, commit, npx changeset publish.\n` : `\n${failed} package(s) cannot be published as they are.\n`)
  return failed === 0 ? 0 : 1
}

process.exitCode = await main()
