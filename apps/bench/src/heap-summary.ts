// `node dist/heap-summary.js <dir> [top]`: for every `<client>.heapprofile`
// that `npm run bench -- --heap-prof <dir>` wrote, the bytes allocated per
// request in all, by where the code comes from, and by function.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { HeapProfileMeta } from './heap-profile.js'

/** ProfileNode is a node of V8's sampling heap profile (the fields used here). */
export interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  /** selfSize is the estimated bytes allocated by this frame itself, in bytes. */
  selfSize: number
  children: ProfileNode[]
}

/** Site is one function (or one origin) and the bytes it allocates per request. */
export interface Site {
  name: string
  bytesPerRequest: number
}

/** HeapSummary is one client's allocations per request. */
export interface HeapSummary {
  bytesPerRequest: number
  byOrigin: Site[]
  byFunction: Site[]
}

/** origin names where a frame's code comes from: our packages, npm undici, Node's bundled undici, Node itself, V8 or other code. */
export function origin(url: string): string {
  const ours = /\/packages\/([\w-]+)\//.exec(url)
  if (ours !== null) return `@roundtrip/${ours[1]}`
  if (url.includes('/node_modules/undici/')) return 'undici (npm)'
  if (url.startsWith('node:internal/deps/undici')) return "undici (Node's)"
  if (url.startsWith('node:')) return 'node'
  if (url === '') return '(V8: native, GC roots, compiler)'
  return url.includes('/apps/bench/') ? 'bench harness' : 'other'
}

function shortUrl(url: string): string {
  const at = url.search(/\/(packages|apps|node_modules)\//)
  return at === -1 ? url : url.slice(at + 1)
}

function sorted(map: Map<string, number>, requests: number): Site[] {
  return [...map].map(([name, bytes]) => ({ name, bytesPerRequest: bytes / requests })).sort((a, b) => b.bytesPerRequest - a.bytesPerRequest)
}

/** summarize adds up a profile's self sizes by function (name and place) and by origin, per request. */
export function summarize(head: ProfileNode, requests: number): HeapSummary {
  const byFunction = new Map<string, number>()
  const byOrigin = new Map<string, number>()
  let total = 0
  const stack = [head]
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    stack.push(...node.children)
    if (node.selfSize === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`
    const name = `${functionName || '(anonymous)'}${where}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize)
    byOrigin.set(origin(url), (byOrigin.get(origin(url)) ?? 0) + node.selfSize)
    total += node.selfSize
  }
  return { bytesPerRequest: total / requests, byOrigin: sorted(byOrigin, requests), byFunction: sorted(byFunction, requests) }
}

/** render prints one client's summary as a markdown list. */
export function render(id: string, meta: HeapProfileMeta, summary: HeapSummary, top: number): string {
  const line = (s: Site): string => `  - ${Math.round(s.bytesPerRequest)} B: ${s.name}`
  return [
    `### ${id}${meta.survivors === true ? ', survivors' : ''} (Node ${meta.node}, ${meta.requests} requests, sampled every ${meta.samplingInterval} B)`,
    '',
    `- ${meta.survivors === true ? 'outlived a young-generation GC' : 'allocated'} per request: ${Math.round(summary.bytesPerRequest)} B`,
    '- by origin:',
    ...summary.byOrigin.map(line),
    `- top ${top} functions by ${meta.survivors === true ? 'surviving ' : ''}bytes they allocate themselves:`,
    ...summary.byFunction.slice(0, top).map(line),
    '',
  ].join('\n')
}

async function main(dir: string, top: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.heapprofile')).sort()
  if (files.length === 0) throw new Error(`no .heapprofile in ${dir}: run npm run bench -- --heap-prof ${dir} first`)
  for (const file of files) {
    const id = file.slice(0, -'.heapprofile'.length)
    const { head } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { head: ProfileNode }
    const meta = JSON.parse(await readFile(join(dir, `${id}.meta.json`), 'utf8')) as HeapProfileMeta
    process.stdout.write(render(id, meta, summarize(head, meta.requests), top) + '\n')
  }
}

if (process.argv[1]?.endsWith('heap-summary.js')) {
  main(process.argv[2] ?? '', Number(process.argv[3] ?? 20)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
