import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installProject } from '../src/install.js'
import { packAll, tarballProblems, type Tarball } from '../src/pack.js'
import { publicPackages, root, type PublicPackage } from '../src/workspace.js'
import { cjsProgram, esmProgram, tsconfigs, tsProgram } from './fixtures.js'
import { run } from '../src/run.js'

// One pack and one install for the file; each check below reads the same
// fresh project. CI runs this once, on the machine's Node (it lives in a
// private app, outside the per-Node passes over packages/*).
let dir: string
let packages: PublicPackage[]
let tarballs: Tarball[]
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roundtrip-fresh-'))
  packages = await publicPackages()
  tarballs = await packAll(packages, dir)
  await installProject(join(dir, 'project'), tarballs.map((t) => t.file))
}, 120_000)
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

async function node(file: string, source: string): Promise<unknown> {
  await writeFile(join(dir, 'project', file), source)
  const { stdout } = await run(process.execPath, [file], { cwd: join(dir, 'project') })
  return JSON.parse(stdout) as unknown
}

describe('the public packages, packed and installed alone in a fresh project', () => {
  it('are each a dev dependency of this app, so turbo builds them before these checks run', async () => {
    const own = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> }
    expect(packages.map((p) => p.name).filter((name) => own.devDependencies[name] === undefined)).toEqual([])
  })

  it('are every package, each tarball with its LICENSE, README, CHANGELOG, exported files and sibling ranges of its version', () => {
    expect(tarballs.map((t) => t.name).sort()).toEqual(packages.map((p) => p.name))
    expect(packages.length).toBeGreaterThanOrEqual(7)
    for (const pkg of packages) expect([pkg.name, tarballProblems(tarballs.find((t) => t.name === pkg.name)!, pkg, packages)]).toEqual([pkg.name, []])
  })

  it('run an ESM program', async () => {
    expect(await node('esm.js', esmProgram)).toEqual({ viaFetch: { path: '/esm' }, viaNode: { path: '/bridged' }, mocked: 'mocked', requests: 2 })
  })

  it('run a CommonJS program that require()s them', async () => {
    expect(await node('cjs.cjs', cjsProgram)).toEqual({ body: { path: '/cjs' }, kinds: ['function', 'function'] })
  })

  it('type-check under moduleResolution nodenext and bundler', { timeout: 120_000 }, async () => {
    const configs = tsconfigs(join(root, 'node_modules/@types'))
    await writeFile(join(dir, 'project', 'check.ts'), tsProgram)
    for (const [name, config] of Object.entries(configs)) await writeFile(join(dir, 'project', name), JSON.stringify(config))
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const results = await Promise.all(
      Object.keys(configs).map((name) =>
        run(process.execPath, [tsc, '-p', name, '--pretty', 'false'], { cwd: join(dir, 'project') }).then(
          () => [name, 'ok'],
          (error: { stdout?: string }) => [name, error.stdout ?? String(error)],
        ),
      ),
    )
    expect(results).toEqual(Object.keys(configs).map((name) => [name, 'ok']))
  })
})
