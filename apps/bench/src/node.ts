import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** ClientNode is the Node.js that runs the client processes. */
export interface ClientNode {
  /** execPath is the `node` binary. */
  execPath: string
  /** version is its `process.version`, such as `v24.22.3`. */
  version: string
  /** undici is the version of the undici bundled in it, which its global `fetch` runs on. */
  undici: string
}

/** INSTALL_NODE is the script CI uses to install a pinned Node from the npm registry (`.ci/install-node.sh`). */
export const INSTALL_NODE = fileURLToPath(new URL('../../../.ci/install-node.sh', import.meta.url))

const MAJOR_OR_VERSION = /^v?\d+(\.\d+\.\d+)?$/

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}

function probe(execPath: string, asked: string): ClientNode {
  const run = spawnSync(execPath, ['-p', 'JSON.stringify([process.version, process.versions.undici ?? "?"])'], { encoding: 'utf8' })
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`--node ${asked}: ${execPath} does not run as Node.js (${run.error?.message ?? (lastLine(run.stderr) || `exit ${String(run.status)}`)})`)
  }
  const [version, undici] = JSON.parse(run.stdout) as [string, string]
  return { execPath, version, undici }
}

/**
 * resolveNode finds the Node that `--node` names: nothing is the Node running
 * the bench; a major (`24`) is the version CI pins for it, and an exact
 * version (`24.22.3`) that one, both installed from the npm registry into
 * CI's cache by `.ci/install-node.sh` on first use; anything else is the path
 * of a `node` binary. It throws with the reason when that Node cannot be
 * installed or run.
 */
export function resolveNode(asked: string | undefined): ClientNode {
  if (asked === undefined) return { execPath: process.execPath, version: process.version, undici: process.versions['undici'] ?? '?' }
  if (!MAJOR_OR_VERSION.test(asked)) return probe(asked, asked)
  const install = spawnSync('bash', [INSTALL_NODE, asked], { encoding: 'utf8' })
  if (install.error !== undefined || install.status !== 0) {
    throw new Error(`--node ${asked}: could not install it: ${install.error?.message ?? lastLine(install.stderr)}`)
  }
  const node = probe(`${install.stdout.trim()}/node`, asked)
  if (asked.includes('.') && node.version !== `v${asked.replace(/^v/, '')}`) throw new Error(`--node ${asked}: installed ${node.version} instead`)
  return node
}
