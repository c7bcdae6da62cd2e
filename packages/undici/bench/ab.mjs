// In-process, interleaved A/B of the bridge's CPU cost per request: Node's
// global fetch (or undici's request) over its own dispatcher against the same
// client over toDispatcher(new Transport()), as apps/bench's `fetch` and
// `fetch-bridged` clients. One loopback server (test/bench-loopback.mjs, as
// apps/bench's `raw` server) runs in a child process; this process runs the
// clients. Every round runs each setting once, in rotated order; a cost is
// the median over rounds of (setting − its base) in the same round, with its
// interquartile range, the median of the paired ratios and in how many rounds
// the setting used less. CPU time (user + system) of this process: on a
// shared machine it stays valid under load, where wall time (also printed)
// does not. Run after `npm run build`, from this folder:
//   node bench/ab.mjs [rounds=20] [requests per run=2000] [concurrency=1]
// Settings (ROUNDTRIP_AB_SETTINGS, default fetch,fetch-bridged):
//   fetch           Node's global fetch on its own global dispatcher
//   fetch-bridged   Node's global fetch, { dispatcher: toDispatcher(new Transport()) }
//   fetch-stack     the same over toDispatcher(compose(new Transport())): the Request path
//   request         undici's request (this package's undici) on its own Agent
//   request-bridged undici's request over toDispatcher(new Transport())
//   fetch-prev, request-prev: as -bridged, on an earlier build: ROUNDTRIP_AB_PREV=<dir>
//     holding <dir>/undici/dist and <dir>/transport/dist (copies of the packages' dist);
//     a -bridged setting is then also compared with its -prev
// Any Node >= 20.19 runs it (Node 24: ~/.cache/roundtrip/node/24.*/bin/node,
// installed by .ci/install-node.sh). ROUNDTRIP_AB_PIN=1 pins this process to
// CPU 1 and the server to CPU 0, as apps/bench does; ROUNDTRIP_AB_FRESH=1
// makes a new client (dispatcher, Transport) for every run, as apps/bench
// does. ROUNDTRIP_AB_CPU_PROF=<dir> then writes one CPU profile per setting
// over as many requests as a run (<dir>/<setting>.cpuprofile, after the
// rounds: the JIT is warm and nothing else is loaded). ROUNDTRIP_AB_HEAP=<requests>
// records, per setting, a sampling allocation profile (every 4 KiB on
// average, or ROUNDTRIP_AB_HEAP_INTERVAL bytes; collected objects included) over that many requests and prints
// the bytes allocated per request: that figure does not depend on load.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { Agent, request } from 'undici'
import { toDispatcher } from '@roundtrip/undici'
import { startCannedServer } from '../../../test/bench-loopback.mjs'

const ROUNDS = Number(process.argv[2] ?? 20)
const N = Number(process.argv[3] ?? 2000)
const C = Number(process.argv[4] ?? 1)
// A new client (dispatcher, Transport) for every run, warmed by a quarter of a run, as apps/bench makes one per run.
const FRESH = process.env.ROUNDTRIP_AB_FRESH === '1'

// ROUNDTRIP_AB_PIN=1 pins the server to CPU 0 and this process to CPU 1, as apps/bench does.
const PIN = process.env.ROUNDTRIP_AB_PIN === '1'
if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
const server = await startCannedServer(PIN ? 0 : undefined)
const url = server.url

const prevDir = process.env.ROUNDTRIP_AB_PREV
const prev = prevDir
  ? {
      undici: await import(pathToFileURL(resolve(prevDir, 'undici/dist/index.js')).href),
      transport: await import(pathToFileURL(resolve(prevDir, 'transport/dist/index.js')).href),
    }
  : undefined

const viaFetch = (dispatcher) => {
  const init = dispatcher === undefined ? undefined : { dispatcher }
  return { get: async () => (await (await fetch(url, init)).arrayBuffer()).byteLength, close: () => dispatcher?.close() }
}
const viaRequest = (dispatcher) => ({
  get: async () => (await (await request(url, { dispatcher })).body.arrayBuffer()).byteLength,
  close: () => dispatcher.close(),
})
const prevDispatcher = () => prev.undici.toDispatcher(new prev.transport.Transport())
const all = {
  fetch: { base: 'fetch', make: () => viaFetch(undefined) },
  'fetch-bridged': { base: 'fetch', make: () => viaFetch(toDispatcher(new Transport())) },
  'fetch-prev': { base: 'fetch', make: () => viaFetch(prevDispatcher()) },
  'fetch-stack': { base: 'fetch', make: () => viaFetch(toDispatcher(compose(new Transport()))) },
  request: { base: 'request', make: () => viaRequest(new Agent()) },
  'request-bridged': { base: 'request', make: () => viaRequest(toDispatcher(new Transport())) },
  'request-prev': { base: 'request', make: () => viaRequest(prevDispatcher()) },
}
const names = (process.env.ROUNDTRIP_AB_SETTINGS ?? 'fetch,fetch-bridged').split(',')
const settings = names.map((name) => {
  if (all[name] === undefined) throw new Error(`unknown setting ${name}; known: ${Object.keys(all).join(', ')}`)
  if (name.endsWith('-prev') && prev === undefined) throw new Error(`${name} needs ROUNDTRIP_AB_PREV`)
  return { name, base: all[name].base, client: all[name].make(), cpu: [], wall: [] }
})

const cpuUs = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

async function run(client, n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) {
      if ((await client.get()) !== 11) throw new Error('short body')
    }
  }
  await Promise.all(Array.from({ length: C }, loop))
}

for (const s of settings) await run(s.client, 3 * N) // warm-up: JIT and the connections
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < settings.length; k++) {
    const s = settings[(round + k) % settings.length]
    if (FRESH) {
      await s.client.close()
      s.client = all[s.name].make()
      await run(s.client, N / 4)
    }
    const start = cpuUs()
    const t0 = performance.now()
    await run(s.client, N)
    s.cpu.push((cpuUs() - start) / N)
    s.wall.push(((performance.now() - t0) * 1000) / N)
  }
}

const quantile = (xs, q) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo)
}
console.log(`node ${process.version}, ${ROUNDS} rounds of ${N} requests at c${C}${PIN ? ', pinned' : ''}${FRESH ? ', a fresh client per run' : ''}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
for (const what of ['cpu', 'wall']) {
  for (const s of settings) {
    const line = [`${what.padEnd(4)} ${s.name.padEnd(15)} median ${quantile(s[what], 0.5).toFixed(1)} µs/req`]
    // Against its own-dispatcher base, and a -bridged setting against the earlier build's (-prev) too.
    const bases = [settings.find((b) => b.name === s.base), settings.find((b) => s.name.endsWith('-bridged') && b.name === s.name.replace(/-bridged$/, '-prev'))]
    for (const base of bases) {
      if (base === undefined || s === base) continue
      const diffs = s[what].map((c, i) => c - base[what][i])
      const ratios = s[what].map((c, i) => c / base[what][i])
      const median = quantile(diffs, 0.5)
      line.push(
        `vs ${base.name}: Δ median ${median >= 0 ? '+' : ''}${median.toFixed(1)} µs, IQR ${quantile(diffs, 0.25).toFixed(1)}..${quantile(diffs, 0.75).toFixed(1)}`,
        `ratio median ${quantile(ratios, 0.5).toFixed(3)}`,
        `less in ${diffs.filter((d) => d < 0).length}/${diffs.length} rounds`,
      )
    }
    console.log(line.join(', '))
  }
}

const { Session } = await import('node:inspector/promises')
const profileDir = process.env.ROUNDTRIP_AB_CPU_PROF
if (profileDir) {
  for (const s of settings) {
    const session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
    const start = cpuUs()
    await run(s.client, N)
    const cpu = cpuUs() - start
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    const file = join(profileDir, `${s.name}.cpuprofile`)
    writeFileSync(file, JSON.stringify(profile))
    console.log(`${s.name.padEnd(15)} profile ${file} (${N} requests, ${(cpu / N).toFixed(1)} µs/req under the profiler)`)
  }
}
const heapRequests = Number(process.env.ROUNDTRIP_AB_HEAP ?? 0)
if (heapRequests > 0) {
  const total = (node) => node.selfSize + node.children.reduce((sum, c) => sum + total(c), 0)
  for (let round = 0; round < 2; round++) {
    for (const s of settings) {
      const session = new Session()
      session.connect()
      await session.post('HeapProfiler.enable')
      await session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.ROUNDTRIP_AB_HEAP_INTERVAL ?? 4096), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      await run(s.client, heapRequests)
      const { profile } = await session.post('HeapProfiler.stopSampling')
      session.disconnect()
      if (profileDir) writeFileSync(join(profileDir, `${s.name}.heapprofile`), JSON.stringify(profile))
      console.log(`${s.name.padEnd(15)} allocated ${(total(profile.head) / heapRequests).toFixed(0)} B/request (${heapRequests} requests, round ${round + 1})`)
    }
  }
}
for (const s of settings) await s.client.close()
server.stop()
