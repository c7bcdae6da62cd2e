// `node dist/heap-summary.js <dir> [<dir> …] [top]`: for every
// `<client>.heapprofile` that `npm run bench -- --heap-prof <dir>` (or
// `--heap-survivors <dir>`) wrote, a table of the bytes per request each
// client allocated and kept past a young-generation GC, then each profile's
// bytes by where the code comes from, and by function.
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

/** Profiled is one client's profile read from a directory: its meta and its summary. */
export interface Profiled {
  id: string
  meta: HeapProfileMeta
  summary: HeapSummary
}

/** ours is the bytes per request our packages (`@roundtrip/*`) allocate themselves in `summary`. */
export function ours(summary: HeapSummary): number {
  return summary.byOrigin.filter((o) => o.name.startsWith('@roundtrip/')).reduce((n, o) => n + o.bytesPerRequest, 0)
}

/**
 * table is one markdown row per client and Node: the bytes allocated per
 * request (a `--heap-prof` profile) and those that outlived a
 * young-generation GC (a `--heap-survivors` profile), each in all and of our
 * packages' own code; `–` where that kind of profile is not among `profiles`.
 */
export function table(profiles: Profiled[]): string {
  const rows = new Map<string, { all?: Profiled; kept?: Profiled }>()
  for (const p of profiles) {
    const key = `${p.id} on ${p.meta.node}`
    const row = rows.get(key) ?? {}
    if (p.meta.survivors === true) row.kept = p
    else row.all = p
    rows.set(key, row)
  }
  const bytes = (p: Profiled | undefined, of: (s: HeapSummary) => number): string => (p === undefined ? '–' : String(Math.round(of(p.summary))))
  const total = (s: HeapSummary): number => s.bytesPerRequest
  const lines = [
    '| client | Node | allocated B/req | of it @roundtrip | outlived a young GC B/req | of it @roundtrip | requests profiled |',
    '|---|---|---:|---:|---:|---:|---:|',
  ]
  for (const { all, kept } of rows.values()) {
    const any = (all ?? kept)!
    const requests = [all, kept].filter((p) => p !== undefined).map((p) => p.meta.requests).join(' / ')
    lines.push(`| ${any.id} | ${any.meta.node} | ${bytes(all, total)} | ${bytes(all, ours)} | ${bytes(kept, total)} | ${bytes(kept, ours)} | ${requests} |`)
  }
  return lines.join('\n') + '\n'
}

/** readProfiles reads every `<client>.heapprofile` (and its meta) in `dirs`, in order, clients sorted by id. */
export async function readProfiles(dirs: string[]): Promise<Profiled[]> {
  const profiles: Profiled[] = []
  for (const dir of dirs) {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.heapprofile')).sort()
    if (files.length === 0) throw new Error(`no .heapprofile in ${dir}: run npm run bench -- --heap-prof ${dir} (or --heap-survivors ${dir}) first`)
    for (const file of files) {
      const id = file.slice(0, -'.heapprofile'.length)
      const { head } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { head: ProfileNode }
      const meta = JSON.parse(await readFile(join(dir, `${id}.meta.json`), 'utf8')) as HeapProfileMeta
      profiles.push({ id, meta, summary: summarize(head, meta.requests) })
    }
  }
  return profiles
}

async function main(args: string[]): Promise<void> {
  // A number is how many functions to list; every other argument is a directory.
  const top = Number(args.find((a) => /^\d+$/.test(a)) ?? 20)
  const dirs = args.filter((a) => !/^\d+$/.test(a))
  if (dirs.length === 0) throw new Error('usage: node dist/heap-summary.js <dir> [<dir> …] [top]')
  const profiles = await readProfiles(dirs)
  process.stdout.write(`${table(profiles)}\n`)
  for (const p of profiles) process.stdout.write(render(p.id, p.meta, p.summary, top) + '\n')
}

if (process.argv[1]?.endsWith('heap-summary.js')) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
