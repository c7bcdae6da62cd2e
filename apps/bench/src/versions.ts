import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The packages whose versions the report names. */
export const MEASURED_PACKAGES = ['undici', 'got', 'axios', 'node-fetch', '@roundtrip/transport', '@roundtrip/fetch', '@roundtrip/leak-tracker'] as const

function versionOf(name: string): string {
  // Walk up from the resolved entry point: not every package exports its package.json.
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (manifest.name === name) return manifest.version ?? '?'
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir)
    if (parent === dir) return '?'
    dir = parent
  }
}

/** versions returns `name version` for Node and each measured package, as one line. */
export function versions(): string {
  return [`Node ${process.version}`, ...MEASURED_PACKAGES.map((name) => `${name} ${versionOf(name)}`)].join(', ')
}
