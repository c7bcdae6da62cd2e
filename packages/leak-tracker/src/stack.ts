import { findSourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * CaptureStack says how much of the requesting code's stack the leak tracker
 * records for each request:
 * - `'caller'`: the first frame of *your* code: outside roundtrip's own
 *   packages, outside `node_modules` and Node's internals, and not matched by
 *   `ignore`. The libraries the request went through on the way (ky, an SDK)
 *   are named below it (`via ky`). Only as many frames as needed are
 *   captured, and only that one frame is formatted.
 * - `'full'`: the whole stack, `Error.stackTraceLimit` frames (at least 10),
 *   from that frame on.
 * - `true`: same as `'caller'`; `false`: no stack.
 */
export type CaptureStack = boolean | 'caller' | 'full'

/** Where a request was made, as the tracker keeps it: strings only, never the frames themselves. */
export interface CallerStack {
  /** `    at …` lines from the caller's frame on (one line with `'caller'`), or every captured frame when no caller frame was found. */
  stack: string
  /** Whether `stack` starts at a caller frame. */
  found: boolean
  /** npm packages (by name) whose frames sat between roundtrip and the caller, nearest to the caller last. */
  via: string[]
}

/** How many frames `'full'` captures at the least. */
const FULL_FRAMES = 10
/** Past this many frames `'caller'` stops looking for your code. */
const MAX_CALLER_FRAMES = 30

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// Our packages sit side by side: `<root>/<name>/dist/*.js` once installed
// (node_modules/@roundtrip/…) and `<root>/<name>/src/*.ts` in this repository.
// A frame in any of them is roundtrip's own; so is one under any
// `@roundtrip/<name>/` folder (pnpm keeps each package under its own root).
function ownFramePattern(): RegExp {
  const rootUrl = new URL('../../', import.meta.url)
  const roots = [rootUrl.href, fileURLToPath(rootUrl)].map(escape).join('|')
  return new RegExp(`(?:^(?:${roots})[^/\\\\]+[/\\\\](?:dist|src)[/\\\\])|(?:[/\\\\]@roundtrip[/\\\\][^/\\\\]+[/\\\\](?:dist|src)[/\\\\])`)
}
const ownFrame = ownFramePattern()
// Our own tests sit beside the sources, and they are callers like any other.
const testFile = /\.test\.[cm]?[jt]sx?$/
/** The package a `node_modules` file belongs to: the last `node_modules/<name>` or `node_modules/@scope/<name>` of its path. */
const packageName = /[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)[/\\](?!.*[/\\]node_modules[/\\])/

/** What a file is, for the tracker: roundtrip's own, Node's, a library's (`node_modules`), ignored, or your code. */
type FileKind = 'own' | 'internal' | 'library' | 'ignored' | 'caller'

function kindOf(file: string | null | undefined, ignore: readonly RegExp[]): FileKind {
  if (file === null || file === undefined || file === '' || file.startsWith('node:') || file === 'native') return 'internal'
  if (ownFrame.test(file) && !testFile.test(file)) return 'own'
  for (const pattern of ignore) if (pattern.test(file)) return 'ignored'
  return packageName.test(file) ? 'library' : 'caller'
}

/** The location part of one formatted frame: `file:///a.js:1:2` of `    at f (file:///a.js:1:2)`. */
function locationOf(frame: string): string {
  if (frame.endsWith(')')) {
    const open = frame.lastIndexOf('(')
    if (open !== -1) return frame.slice(open + 1, -1)
  }
  const at = frame.indexOf('at ')
  return at === -1 ? frame : frame.slice(at + 3)
}

/** The file of a location `file:line:column` (or `file:line`, or `file`). */
function fileOf(location: string): string {
  return location.replace(/(?::\d+){1,2}$/, '')
}

/**
 * isCallerFrame reports whether a formatted stack frame (`    at f (file:1:2)`)
 * belongs to your code: not roundtrip's own packages (but their tests), not
 * a library under `node_modules`, not Node's internals, not a native frame.
 */
export function isCallerFrame(frame: string, ignore: readonly RegExp[] = []): boolean {
  const location = locationOf(frame)
  if (location.startsWith('<anonymous>')) return false
  return kindOf(fileOf(location), ignore) === 'caller'
}

/** callerLocation is the `file:line:column` of the first line of a stack recorded by the tracker. */
export function callerLocation(stack: CallerStack | undefined): string | undefined {
  if (stack === undefined || !stack.found) return undefined
  const newline = stack.stack.indexOf('\n')
  return locationOf(newline === -1 ? stack.stack : stack.stack.slice(0, newline))
}

/** libraryOf names the npm package a file belongs to, or undefined outside `node_modules`. */
export function libraryOf(file: string): string | undefined {
  return packageName.exec(file)?.[1]?.replace(/\\/g, '/')
}

type Prepare = (error: Error, sites: NodeJS.CallSite[]) => unknown
const HEADER = { name: 'Error', message: '' } as Error

/** Formats call sites the way the stack would show them: through the installed `prepareStackTrace` (a source-map aware one, as under vitest) or V8's own. */
function format(sites: NodeJS.CallSite[], prepare: Prepare | undefined): string {
  if (prepare === undefined) return sites.map((site) => `    at ${String(site)}`).join('\n')
  const text = String(prepare(HEADER, sites))
  const newline = text.indexOf('\n')
  return newline === -1 ? '' : text.slice(newline + 1)
}

/**
 * StackCapturer records where requests are made, cheaply: V8 captures the
 * frames and, inside a `prepareStackTrace` swapped in for the duration of the
 * call, only the file name of each frame is read until your code's frame is
 * found; that frame alone is formatted. Nothing but strings is kept: an
 * unformatted stack would keep its frames' functions and receivers alive,
 * and with them, often, the very response whose collection reveals the leak.
 * It learns how many frames usually sit above the caller, so that it
 * captures just enough (V8 charges per captured frame).
 */
export class StackCapturer {
  #full: boolean
  #ignore: readonly RegExp[]
  #depth = 4

  constructor(mode: 'caller' | 'full', ignore: readonly RegExp[] = []) {
    this.#full = mode === 'full'
    this.#ignore = ignore
  }

  /** The stack of the code that called `above` (see {@link CallerStack}). */
  capture(above: Function): CallerStack {
    const configured = typeof Error.stackTraceLimit === 'number' ? Error.stackTraceLimit : 0
    if (this.#full) return this.#capture(Math.max(configured, FULL_FRAMES), above)
    let stack = this.#capture(this.#depth, above)
    if (!stack.found && this.#depth < MAX_CALLER_FRAMES) {
      // Deeper than we learnt: look again, further, and remember the depth.
      stack = this.#capture(MAX_CALLER_FRAMES, above)
      if (stack.found) this.#depth = Math.min(MAX_CALLER_FRAMES, stack.depth + 2)
    }
    return stack
  }

  #capture(limit: number, above: Function): Picked {
    const holder: { stack?: unknown } = {}
    const savedLimit = Error.stackTraceLimit
    const savedPrepare = Error.prepareStackTrace as Prepare | undefined
    // Node formats stacks itself (with source maps) when no prepareStackTrace
    // is installed; with --enable-source-maps, keep its formatting.
    picking.formatter = savedPrepare ?? ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true ? NODE_MAPS : undefined)
    picking.capturer = this
    Error.stackTraceLimit = limit
    Error.prepareStackTrace = pick
    try {
      Error.captureStackTrace(holder, above)
      return holder.stack as Picked
    } finally {
      ;(Error as { prepareStackTrace?: Prepare | undefined }).prepareStackTrace = savedPrepare
      Error.stackTraceLimit = savedLimit
      picking.capturer = undefined
      picking.formatter = undefined
    }
  }

  /** Reads file names only, until your code's frame; formats that frame (or, `'full'`, the frames from it on). */
  pick(sites: NodeJS.CallSite[], formatter: Prepare | typeof NODE_MAPS | undefined): Picked {
    let via: string[] = NO_LIBRARIES
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i]!
      const file = site.getFileName() ?? site.getScriptNameOrSourceURL()
      const known = this.#fileKind(file)
      if (known.library !== undefined && via[via.length - 1] !== known.library) via = [...via, known.library]
      if (known.kind !== 'caller') continue
      const text = this.#full ? formatSites(sites.slice(i), formatter) : formatCaller(site, file!, formatter)
      return { stack: text, found: true, via, depth: i + 1 }
    }
    return { stack: formatSites(sites, formatter), found: false, via, depth: sites.length }
  }

  /** The kind of a file, remembered: a stack names the same few files again and again. */
  #fileKind(file: string | null | undefined): KnownFile {
    if (file === null || file === undefined) return INTERNAL
    let known = this.#files.get(file)
    if (known === undefined) {
      const kind = kindOf(file, this.#ignore)
      known = { kind, library: kind === 'library' ? libraryOf(file) : undefined }
      if (this.#files.size >= MAX_REMEMBERED) this.#files.clear()
      this.#files.set(file, known)
    }
    return known
  }
  #files = new Map<string, KnownFile>()
}

interface KnownFile {
  kind: FileKind
  library: string | undefined
}
type Picked = CallerStack & { depth: number }
const INTERNAL: KnownFile = { kind: 'internal', library: undefined }
const NO_LIBRARIES: string[] = []
/** How many files and caller lines a capturer remembers before it starts again. */
const MAX_REMEMBERED = 1000
/** Stands for Node's own formatting under --enable-source-maps. */
const NODE_MAPS = Symbol('node source maps')

// The capture in progress: a prepareStackTrace made once, not per request.
const picking: { capturer: StackCapturer | undefined; formatter: Prepare | typeof NODE_MAPS | undefined } = { capturer: undefined, formatter: undefined }
const pick: Prepare = (_error, sites) => picking.capturer!.pick(sites, picking.formatter)

function formatSites(sites: NodeJS.CallSite[], formatter: Prepare | typeof NODE_MAPS | undefined): string {
  return formatter === NODE_MAPS ? formatWithNode(sites) : format(sites, formatter)
}

// The caller's line, formatted once per place in the code.
const callerLines = new Map<string, string>()
function formatCaller(site: NodeJS.CallSite, file: string, formatter: Prepare | typeof NODE_MAPS | undefined): string {
  const key = `${file}:${site.getLineNumber()}:${site.getColumnNumber()}:${site.isAsync() ? 'a' : ''}${site.getTypeName() ?? ''}`
  let text = callerLines.get(key)
  if (text === undefined) {
    text = formatSites([site], formatter)
    if (callerLines.size >= MAX_REMEMBERED) callerLines.clear()
    callerLines.set(key, text)
  }
  return text
}

/** Formats call sites as Node does under --enable-source-maps: positions mapped back to the sources. */
function formatWithNode(sites: NodeJS.CallSite[]): string {
  // Under --enable-source-maps the positions V8 gives are the generated
  // code's; module.findSourceMap maps them back.
  return sites.map((site) => `    at ${mapSite(site)}`).join('\n')
}

function mapSite(site: NodeJS.CallSite): string {
  const file = site.getFileName()
  const line = site.getLineNumber()
  const column = site.getColumnNumber()
  if (file == null || line == null || column == null) return String(site)
  const entry = findSourceMap(file)?.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined
  if (entry?.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return String(site)
  const where = `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
  const name = site.getFunctionName()
  return name === null ? where : `${site.isAsync() ? 'async ' : ''}${name} (${where})`
}

/** An `ignore` entry as a pattern: a string matches as it is written. */
export function toPattern(p: string | RegExp): RegExp {
  if (p instanceof RegExp) return p
  if (typeof p !== 'string') throw new TypeError(`leakTracker: ignore must hold strings or RegExps, got ${typeof p}`)
  return new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
}
