// In-process, interleaved A/B of the CPU cost per request of
// Transport.roundTrip against undici.request (and createFetch against the
// running Node's own fetch), over one loopback server: a raw node:net server
// in a child process answering every request head with one canned keep-alive
// response (11-byte body). Each setting keeps its own client (64 connections
// after the warm-up); every body is read with arrayBuffer(), as apps/bench's
// clients do. Every round runs each setting once, in rotated order, `n`
// requests at 64 in flight; a setting's cost is the median over rounds of
// (setting − first setting) in the same round, and the median of the per-round
// ratios first ÷ setting (the speed-up, as apps/bench's ratios). CPU time
// (user + system), not wall time: the machine is shared, and paired rounds
// keep the comparison valid under the load of other processes.
//
// Run after `npm run build`, from this folder, under any Node >= 20.19
// (Node 24: ~/.cache/roundtrip/node/24.*/bin/node):
//   node bench/ab.mjs [rounds=60] [requests per round=2000]
// Settings (ROUNDTRIP_AB_SETTINGS, comma-separated; default
// `undici,transport`; the first is the reference):
//   undici         undici.request on its own Agent
//   floor          undici Clients driven by Client.dispatch and a minimal
//                  handler (see floor.mjs): the wire's cost alone
//   transport      Transport.roundTrip(new Request(url))
//   same-request   Transport.roundTrip of one Request made once, for every
//                  call: `transport` minus this is what the caller's
//                  `new Request(url)` per call costs
//   create-fetch   createFetch(new Transport())(url)
//   fetch          the running Node's global fetch
//   prev-transport, prev-create-fetch, prev-same-request
//                  the same from another build: ROUNDTRIP_AB_PREV is a
//                  folder holding node_modules/@roundtrip/{core,transport,fetch}
//                  (copies of packages/<name>/{package.json,dist}), so a
//                  change is measured against its base in the same process.
//   prevb-transport, prevb-create-fetch
//                  the same from a third build, ROUNDTRIP_AB_PREV_B (two
//                  variants of a change against their base, in one run).
// ROUNDTRIP_AB_CONCURRENCY changes the 64 in flight (1: sequential).
// ROUNDTRIP_AB_TRANSPORT_OPTIONS (JSON) are the options of every Transport
// made here (e.g. '{"raceDial":false}'); ROUNDTRIP_AB_PREV_OPTIONS, when
// set, those of the prev- and prevb- settings instead (ROUNDTRIP_AB_PREV may
// then be this build: two option sets compared in one run).
// ROUNDTRIP_AB_HEAP=<requests> then records, per setting and twice, a
// sampling allocation profile (every 128 B on average, collected objects
// included) over that many requests and prints bytes allocated per request,
// a figure that does not depend on load; ROUNDTRIP_AB_TOP=<k> adds the k
// functions that allocate most (self bytes per request, with their file);
// ROUNDTRIP_AB_HEAP_DIR=<folder> keeps the profiles (.heapprofile, for
// DevTools or apps/bench's heap-summary).
import { setMaxListeners } from 'node:events'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { Agent, request } from 'undici'
import { floorClient } from './floor.mjs'
import { interleave, quantile, startCannedServer } from '../../../test/bench-loopback.mjs'

const ROUNDS = Number(process.argv[2] ?? 60)
const N = Number(process.argv[3] ?? 2000)
const C = Number(process.env.ROUNDTRIP_AB_CONCURRENCY ?? 64)

const server = await startCannedServer()
const url = server.url

/** The packages of the build under test (this worktree's), or of another build under `root`. */
async function packagesFrom(root) {
  if (root === undefined) {
    return { ...(await import('@roundtrip/transport')), ...(await import('@roundtrip/fetch')) }
  }
  const require = createRequire(pathToFileURL(`${root}/node_modules/`).href)
  const load = (name) => import(pathToFileURL(require.resolve(name)).href)
  return { ...(await load('@roundtrip/transport')), ...(await load('@roundtrip/fetch')) }
}
const current = await packagesFrom(undefined)
const prev = process.env.ROUNDTRIP_AB_PREV === undefined ? undefined : await packagesFrom(process.env.ROUNDTRIP_AB_PREV)
const prevB = process.env.ROUNDTRIP_AB_PREV_B === undefined ? undefined : await packagesFrom(process.env.ROUNDTRIP_AB_PREV_B)

const transportOptions = JSON.parse(process.env.ROUNDTRIP_AB_TRANSPORT_OPTIONS ?? '{}')
const prevOptions = process.env.ROUNDTRIP_AB_PREV_OPTIONS === undefined ? transportOptions : JSON.parse(process.env.ROUNDTRIP_AB_PREV_OPTIONS)
function transportClient({ Transport }, options = transportOptions) {
  const transport = new Transport(options)
  return { get: async () => (await (await transport.roundTrip(new Request(url))).arrayBuffer()).byteLength, close: () => transport.close() }
}
/** Transport.roundTrip of one Request made once (a GET carries no body to use up): what the caller's `new Request` per call costs, by difference. */
function sameRequestClient({ Transport }, options = transportOptions) {
  const transport = new Transport(options)
  const request = new Request(url)
  // 64 calls in flight listen on its one signal at once.
  setMaxListeners(0, request.signal)
  return { get: async () => (await (await transport.roundTrip(request)).arrayBuffer()).byteLength, close: () => transport.close() }
}
function createFetchClient({ Transport, createFetch }, options = transportOptions) {
  const transport = new Transport(options)
  const fetch = createFetch(transport)
  return { get: async () => (await (await fetch(url)).arrayBuffer()).byteLength, close: () => transport.close() }
}
const makers = {
  undici: () => {
    const agent = new Agent()
    return { get: async () => (await (await request(url, { dispatcher: agent })).body.arrayBuffer()).byteLength, close: () => agent.close() }
  },
  floor: () => floorClient(server.origin, C),
  transport: () => transportClient(current),
  'same-request': () => sameRequestClient(current),
  'create-fetch': () => createFetchClient(current),
  fetch: () => ({ get: async () => (await (await fetch(url)).arrayBuffer()).byteLength, close: async () => {} }),
  'prev-transport': () => transportClient(prev, prevOptions),
  'prev-create-fetch': () => createFetchClient(prev, prevOptions),
  'prev-same-request': () => sameRequestClient(prev, prevOptions),
  'prevb-transport': () => transportClient(prevB, prevOptions),
  'prevb-create-fetch': () => createFetchClient(prevB, prevOptions),
}
const names = (process.env.ROUNDTRIP_AB_SETTINGS ?? 'undici,transport').split(',')
const settings = names.map((name) => {
  if (makers[name] === undefined) throw new Error(`unknown setting ${name} (one of ${Object.keys(makers).join(', ')})`)
  if (name.startsWith('prev-') && prev === undefined) throw new Error(`${name} needs ROUNDTRIP_AB_PREV`)
  if (name.startsWith('prevb-') && prevB === undefined) throw new Error(`${name} needs ROUNDTRIP_AB_PREV_B`)
  return { name, client: makers[name](), cpu: [] }
})


async function run(client, n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) if ((await client.get()) !== 11) throw new Error('short body')
  }
  await Promise.all(Array.from({ length: C }, loop))
}

for (const s of settings) await run(s.client, 3 * N) // warm-up: JIT and the connections
// (A full collection before each run was tried: it shrinks the young
// generation, and every setting then measured about twice as dear, the ones
// allocating more the most.)
await interleave(settings, ROUNDS, N, (s) => run(s.client, N))

const [ref] = settings
console.log(`loopback, node ${process.version}, ${ROUNDS} rounds of ${N} requests at c${C}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
for (const s of settings) {
  const line = [`${s.name.padEnd(17)} median ${quantile(s.cpu, 0.5).toFixed(2)} µs/req`]
  if (s !== ref) {
    const diffs = s.cpu.map((c, i) => c - ref.cpu[i])
    const ratios = s.cpu.map((c, i) => ref.cpu[i] / c)
    const median = quantile(diffs, 0.5)
    line.push(
      `Δ vs ${ref.name} median ${median >= 0 ? '+' : ''}${median.toFixed(2)} µs (${((100 * median) / quantile(ref.cpu, 0.5)).toFixed(1)}%)`,
      `IQR ${quantile(diffs, 0.25).toFixed(2)}..${quantile(diffs, 0.75).toFixed(2)}`,
      `${ref.name}/${s.name} CPU ratio ${quantile(ratios, 0.5).toFixed(3)}`,
      `cheaper in ${diffs.filter((d) => d < 0).length}/${diffs.length}`,
    )
  }
  console.log(line.join(', '))
}

const heapRequests = Number(process.env.ROUNDTRIP_AB_HEAP ?? 0)
if (heapRequests > 0) {
  const top = Number(process.env.ROUNDTRIP_AB_TOP ?? 0)
  const { Session } = await import('node:inspector/promises')
  const total = (node) => node.selfSize + node.children.reduce((sum, c) => sum + total(c), 0)
  const bySite = (node, into) => {
    const f = node.callFrame
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|packages)\//, '')}:${f.lineNumber + 1}`
    into.set(key, (into.get(key) ?? 0) + node.selfSize)
    for (const c of node.children) bySite(c, into)
    return into
  }
  for (let round = 0; round < 2; round++) {
    for (const s of settings) {
      const session = new Session()
      session.connect()
      await session.post('HeapProfiler.enable')
      await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      await run(s.client, heapRequests)
      const { profile } = await session.post('HeapProfiler.stopSampling')
      session.disconnect()
      if (process.env.ROUNDTRIP_AB_HEAP_DIR) {
        const { writeFileSync } = await import('node:fs')
        writeFileSync(`${process.env.ROUNDTRIP_AB_HEAP_DIR}/${s.name}-${round + 1}.heapprofile`, JSON.stringify(profile))
      }
      console.log(`${s.name.padEnd(17)} allocated ${(total(profile.head) / heapRequests).toFixed(0)} B/request (${heapRequests} requests, round ${round + 1})`)
      if (top > 0 && round === 1) {
        const sites = [...bySite(profile.head, new Map())].sort((a, b) => b[1] - a[1]).slice(0, top)
        for (const [site, bytes] of sites) console.log(`    ${(bytes / heapRequests).toFixed(0).padStart(6)} B  ${site}`)
      }
    }
  }
}
for (const s of settings) await s.client.close()
server.stop()
