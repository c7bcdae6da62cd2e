import { root, type PublicPackage } from './workspace.js'
import { run } from './run.js'

/** Tarball is one packed package, as `npm pack` made it. */
export interface Tarball {
  name: string
  version: string
  /** The .tgz file, absolute. */
  file: string
  /** The paths inside the package, as npm lists them (`package.json`, `dist/index.js`, …). */
  files: string[]
  /** Bytes of the .tgz. */
  size: number
}

/** packAll packs every package into `destination` with one `npm pack`, as `npm publish` would pack them. */
export async function packAll(packages: PublicPackage[], destination: string): Promise<Tarball[]> {
  const args = ['pack', '--json', '--pack-destination', destination, ...packages.flatMap((p) => ['--workspace', p.name])]
  const { stdout } = await run('npm', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 })
  const packed = JSON.parse(stdout) as Array<{ name: string; version: string; filename: string; size: number; files: Array<{ path: string }> }>
  return packed.map((p) => ({ name: p.name, version: p.version, file: `${destination}/${p.filename}`, files: p.files.map((f) => f.path), size: p.size }))
}

function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(exportTargets)
  return []
}

/**
 * tarballProblems says what keeps a packed package from being installed and
 * used on its own (empty when nothing does): its own LICENSE, README and
 * CHANGELOG; every file its `exports` point at; a released version; each
 * sibling it depends on in exactly the range changesets writes (`^` its
 * current version: `^0.0.0` would mean 0.0.0 only); where its home, bugs and
 * sources are.
 */
export function tarballProblems(tarball: Tarball, pkg: PublicPackage, siblings: PublicPackage[]): string[] {
  const problems: string[] = []
  const has = new Set(tarball.files)
  for (const file of ['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md']) if (!has.has(file)) problems.push(`no ${file} in the tarball`)
  for (const target of exportTargets(pkg.manifest.exports)) {
    const path = target.replace(/^\.\//, '')
    if (!path.includes('*') && !has.has(path)) problems.push(`exports points at ${target}, which is not in the tarball`)
  }
  if (/^0\.0\.\d+/.test(pkg.version)) problems.push(`version ${pkg.version} is not a release line (0.0.x ranges match one version only)`)
  for (const field of ['dependencies', 'peerDependencies'] as const) {
    for (const [name, range] of Object.entries(pkg.manifest[field] ?? {})) {
      const sibling = siblings.find((s) => s.name === name)
      if (sibling !== undefined && range !== `^${sibling.version}`) problems.push(`${field}.${name} is ${range}, not ^${sibling.version} (the sibling's version)`)
    }
  }
  if (pkg.manifest.license !== 'MIT') problems.push(`license is ${String(pkg.manifest.license)}`)
  if (typeof pkg.manifest.homepage !== 'string') problems.push('no homepage')
  if (pkg.manifest.bugs === undefined) problems.push('no bugs')
  if (pkg.manifest.repository?.url === undefined) problems.push('no repository')
  return problems
}
