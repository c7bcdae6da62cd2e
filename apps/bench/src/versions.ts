import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resolveNode, type ClientNode } from './node.js'

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

/**
 * versions names, on one line, the clients' Node (default: the running one)
 * with the undici its global fetch runs on, the server's Node when it is
 * another, and the version of each measured package.
 */
export function versions(node: Pick<ClientNode, 'version' | 'undici'> = resolveNode(undefined)): string {
  const server = node.version === process.version ? '' : `, server on Node ${process.version}`
  const packages = MEASURED_PACKAGES.map((name) => `${name} ${versionOf(name)}`).join(', ')
  return `clients on Node ${node.version} (its fetch: undici ${node.undici})${server}; npm packages: ${packages}`
}
