// In-process, interleaved A/B of what the usual middleware stack costs per
// request over a loopback server: apps/bench's `middleware` client,
// createFetch(compose(new Transport(), chain(logger({ log: noop }), retry(),
// timeout(30_000)))), against its `create-fetch` client, createFetch(new
// Transport()), 64 requests in flight, each body read with arrayBuffer().
// The server (test/bench-loopback.mjs: a raw node:net server answering every request head with one
// canned keep-alive response) runs in a child process. Every round runs each
// setting once, in rotated order; a cost is the median over rounds of the
// difference between two settings in the same round, with its interquartile
// range. CPU time (user + system), not wall time: the machine is shared, and
// paired rounds stay valid under load. Run after `npm run build`, from this
// folder's package:
//   node bench/ab.mjs [rounds=60] [requests per run=2000]
// Any Node >= 20.19 runs it (~/.cache/roundtrip/node/24.*/bin/node).
//
// Before and after a change: `node bench/ab.mjs --snapshot <dir>` copies the
// builds of core, transport, fetch and middleware into <dir>/node_modules
// (undici and socks linked); after rebuilding, ROUNDTRIP_AB_PREV=<dir> adds
// the settings `prev-base` and `prev-stack` from that copy, and the report
// gives the stack's cost in each build and the change between them.
// ROUNDTRIP_AB_BASE=memory replaces the Transport with an in-memory
// RoundTripper (no sockets, see memoryRoundTripper below): the stack's own
// cost stands out of the noise of a loaded machine.
// ROUNDTRIP_AB_STACK=logger,timeout (any of logger, retry, timeout, in that
// order; default all three) measures part of the stack.
// ROUNDTRIP_AB_HEAP=<requests> then records, per setting, a sampling
// allocation profile (every 128 B on average, collected objects included)
// over that many requests, twice, and prints the bytes allocated per request:
// that figure does not depend on the load. ROUNDTRIP_AB_TOP=<n> lists the n
// functions that allocated most in the last profile of each setting.
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { interleave, quantile, sampleAllocations, startCannedServer } from '../../../test/bench-loopback.mjs'

const PACKAGES = ['core', 'transport', 'fetch', 'middleware']

if (process.argv[2] === '--snapshot') {
  const dir = resolve(process.argv[3] ?? '')
  const require = createRequire(import.meta.url)
  const modules = join(dir, 'node_modules')
  rmSync(dir, { recursive: true, force: true })
  for (const name of PACKAGES) {
    const from = dirname(require.resolve(`@roundtrip/${name}/package.json`))
    const to = join(modules, '@roundtrip', name)
    mkdirSync(to, { recursive: true })
    cpSync(join(from, 'package.json'), join(to, 'package.json'))
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true })
  }
  const transport = createRequire(require.resolve('@roundtrip/transport/package.json'))
  for (const dep of ['undici', 'socks']) symlinkSync(dirname(transport.resolve(`${dep}/package.json`)), join(modules, dep))
  console.log(`snapshot of ${PACKAGES.join(', ')} in ${dir}`)
  process.exit(0)
}

const ROUNDS = Number(process.argv[2] ?? 60)
const N = Number(process.argv[3] ?? 2000)
const C = 64
const MEMORY = process.env.ROUNDTRIP_AB_BASE === 'memory'
const STACK = (process.env.ROUNDTRIP_AB_STACK ?? 'logger,retry,timeout').split(',').filter(Boolean)

const server = await startCannedServer()
const url = server.url

/** The packages of one build: this worktree's, or a snapshot's. */
async function load(from) {
  const require = from === undefined ? createRequire(import.meta.url) : createRequire(join(resolve(from), 'node_modules', 'x.js'))
  const [core, transport, fetch, middleware] = await Promise.all(
    PACKAGES.map((name) => import(require.resolve(`@roundtrip/${name}`))),
  )
  const noop = () => {}
  const below = MEMORY ? () => memoryRoundTripper(core) : () => new transport.Transport()
  return {
    base: () => {
      const t = below()
      return { transport: t, fetch: fetch.createFetch(t) }
    },
    stack: () => {
      const t = below()
      const layers = { logger: () => middleware.logger({ log: noop }), retry: () => middleware.retry(), timeout: () => middleware.timeout(30_000) }
      const mw = core.chain(...STACK.map((name) => layers[name]()))
      return { transport: t, fetch: fetch.createFetch(core.compose(t, mw)) }
    },
  }
}

/**
 * The in-memory RoundTripper of ROUNDTRIP_AB_BASE=memory, over `core`: as the
 * Transport does, each call reads the call's trace and calls its getConn,
 * gotConn and putIdleConn hooks, and its body declares the connection it
 * holds, released once the whole body arrived. It answers in the turn of the
 * call, so nothing can abort it first: it declares kRejectsOnAbort, as the
 * Transport does.
 */
function memoryRoundTripper(core) {
  const chunk = new TextEncoder().encode('hello world')
  const info = Object.freeze({ reused: true, wasIdle: true, idleTime: 0, protocol: 'http/1.1', shared: false })
  return {
    [core.kRejectsOnAbort ?? Symbol()]: true,
    async roundTrip(request) {
      const trace = core.callTrace(request)
      trace?.getConn?.('http://127.0.0.1:1')
      trace?.gotConn?.(info)
      const { body, sink } = core.createBody({})
      sink.hold('http://127.0.0.1:1')
      sink.push(chunk)
      trace?.putIdleConn?.()
      sink.release()
      sink.end()
      return core.createResponse(body, { status: 200, url: request.url })
    },
    close: async () => {},
  }
}

const current = await load(undefined)
const prev = process.env.ROUNDTRIP_AB_PREV ? await load(process.env.ROUNDTRIP_AB_PREV) : undefined
const settings = [
  ...(prev === undefined ? [] : [{ name: 'prev-base', ...prev.base() }, { name: 'prev-stack', ...prev.stack() }]),
  { name: 'base', ...current.base() },
  { name: 'stack', ...current.stack() },
].map((s) => ({ ...s, cpu: [] }))
const byName = Object.fromEntries(settings.map((s) => [s.name, s]))

async function run(fetch, n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) {
      const response = await fetch(url)
      if ((await response.arrayBuffer()).byteLength !== 11) throw new Error('short body')
    }
  }
  await Promise.all(Array.from({ length: C }, loop))
}

for (let i = 0; i < 2; i++) for (const s of settings) await run(s.fetch, 2 * N) // warm-up: JIT and 64 connections each
await interleave(settings, ROUNDS, N, (s) => run(s.fetch, N))

const sign = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`
/** The median over rounds of a per-round figure, its IQR, and that median as a share of `of`'s median. */
function paired(label, perRound, of) {
  const median = quantile(perRound, 0.5)
  const share = of === undefined ? '' : ` (${((100 * median) / quantile(of.cpu, 0.5)).toFixed(1)}% of ${of.name})`
  console.log(`${label.padEnd(34)} ${sign(median)} µs/req${share}, IQR ${sign(quantile(perRound, 0.25))}..${sign(quantile(perRound, 0.75))}`)
}
const diff = (a, b) => a.cpu.map((x, i) => x - b.cpu[i])

console.log(`${MEMORY ? 'in memory' : 'loopback'}, node ${process.version}, stack chain(${STACK.join(', ')}), ${ROUNDS} rounds of ${N} requests at c${C}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
for (const s of settings) console.log(`${s.name.padEnd(10)} median ${quantile(s.cpu, 0.5).toFixed(2)} µs/req`)
paired('stack − base', diff(byName.stack, byName.base), byName.base)
if (prev !== undefined) {
  paired('prev-stack − prev-base', diff(byName['prev-stack'], byName['prev-base']), byName['prev-base'])
  const change = diff(byName.stack, byName.base).map((x, i) => x - (byName['prev-stack'].cpu[i] - byName['prev-base'].cpu[i]))
  paired('change of the stack cost', change, byName['prev-base'])
  paired('stack − prev-stack', diff(byName.stack, byName['prev-stack']), byName['prev-stack'])
  paired('base − prev-base', diff(byName.base, byName['prev-base']), byName['prev-base'])
}

const heapRequests = Number(process.env.ROUNDTRIP_AB_HEAP ?? 0)
if (heapRequests > 0) {
  const top = Number(process.env.ROUNDTRIP_AB_TOP ?? 0)
  const bytes = new Map()
  for (let round = 0; round < 2; round++) {
    for (const s of settings) {
      const { total, byFunction } = await sampleAllocations(() => run(s.fetch, heapRequests), 128)
      bytes.set(s.name, [...(bytes.get(s.name) ?? []), total / heapRequests])
      if (round === 1 && top > 0) {
        console.log(`${s.name}: the ${top} functions that allocated most, B/request`)
        for (const [key, b] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(b / heapRequests).toFixed(0).padStart(7)} ${key}`)
      }
    }
  }
  for (const [name, runs] of bytes) console.log(`${name.padEnd(10)} allocated ${runs.map((b) => b.toFixed(0)).join(' / ')} B/request (${heapRequests} requests per run)`)
  const mean = (name) => bytes.get(name).reduce((a, b) => a + b, 0) / bytes.get(name).length
  console.log(`stack − base: ${sign(mean('stack') - mean('base')).replace(/\.\d+$/, '')} B/request`)
  if (prev !== undefined) console.log(`prev-stack − prev-base: ${sign(mean('prev-stack') - mean('prev-base')).replace(/\.\d+$/, '')} B/request`)
}
for (const s of settings) await s.transport.close()
server.stop()
