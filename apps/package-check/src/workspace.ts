import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder. */
export const root = fileURLToPath(new URL('../../../', import.meta.url))

/** Manifest is the part of a package.json these checks read. */
export interface Manifest {
  name: string
  version: string
  private?: boolean
  license?: string
  homepage?: string
  bugs?: { url?: string } | string
  repository?: { url?: string; directory?: string }
  exports?: Record<string, string | Record<string, string>>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

/** PublicPackage is a published workspace package: its manifest and folder. */
export interface PublicPackage {
  name: string
  version: string
  /** The folder, absolute. */
  dir: string
  manifest: Manifest
}

/** publicPackages lists the workspace packages under packages/ that are not private, by name. */
export async function publicPackages(): Promise<PublicPackage[]> {
  const folders = await readdir(join(root, 'packages'))
  const found: PublicPackage[] = []
  for (const folder of folders) {
    const dir = join(root, 'packages', folder)
    let manifest: Manifest
    try {
      manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT' || (error as { code?: string }).code === 'ENOTDIR') continue
      throw error
    }
    if (manifest.private !== true) found.push({ name: manifest.name, version: manifest.version, dir, manifest })
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}
