// A CPU profile of the hot path only (HTTP/1.1 GET, 11-byte body, keep-alive,
// c64 by default), without start-up or warm-up: the profiler runs around the
// measured requests alone, through node:inspector. Prints self time per
// function and grouped by where it comes from (ours, undici, Node's bundled
// undici behind Request/Response, Node, GC), as shares of the busy time.
//
//   node bench/profile.mjs [setting=transport] [requests=40000] [interval µs=50]
// Settings: those of ab.mjs that need no other build (transport,
// same-request, create-fetch, undici, floor, fetch). ROUNDTRIP_AB_CONCURRENCY
// as ab.mjs. ROUNDTRIP_PROFILE_OUT=<file> keeps the .cpuprofile.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { setMaxListeners } from 'node:events'
import { Agent, request } from 'undici'
import { floorClient } from './floor.mjs'
import { Transport } from '@roundtrip/transport'
import { createFetch } from '@roundtrip/fetch'
import { startCannedServer } from '../../../test/bench-loopback.mjs'

const setting = process.argv[2] ?? 'transport'
const N = Number(process.argv[3] ?? 40000)
const INTERVAL = Number(process.argv[4] ?? 50)
const C = Number(process.env.ROUNDTRIP_AB_CONCURRENCY ?? 64)
const server = await startCannedServer()
const url = server.url

const makers = {
  transport() {
    const t = new Transport()
    return { get: async () => (await (await t.roundTrip(new Request(url))).arrayBuffer()).byteLength, close: () => t.close() }
  },
  'same-request'() {
    const t = new Transport()
    const r = new Request(url)
    setMaxListeners(0, r.signal)
    return { get: async () => (await (await t.roundTrip(r)).arrayBuffer()).byteLength, close: () => t.close() }
  },
  'create-fetch'() {
    const t = new Transport()
    const f = createFetch(t)
    return { get: async () => (await (await f(url)).arrayBuffer()).byteLength, close: () => t.close() }
  },
  undici() {
    const agent = new Agent()
    return { get: async () => (await (await request(url, { dispatcher: agent })).body.arrayBuffer()).byteLength, close: () => agent.close() }
  },
  floor: () => floorClient(server.origin, C),
  fetch: () => ({ get: async () => (await (await fetch(url)).arrayBuffer()).byteLength, close: async () => {} }),
}
const client = makers[setting]()
async function run(n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) if ((await client.get()) !== 11) throw new Error('short body')
  }
  await Promise.all(Array.from({ length: C }, loop))
}
await run(Math.max(10000, N / 2))
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: INTERVAL })
await session.post('Profiler.start')
const cpu0 = process.cpuUsage()
await run(N)
const cpu = process.cpuUsage(cpu0)
const { profile } = await session.post('Profiler.stop')
session.disconnect()
await client.close()
server.stop()
if (process.env.ROUNDTRIP_PROFILE_OUT) writeFileSync(process.env.ROUNDTRIP_PROFILE_OUT, JSON.stringify(profile))

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const counts = new Map()
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
const where = (f) => {
  const u = f.url
  if (f.functionName === '(idle)') return 'idle'
  if (f.functionName === '(garbage collector)') return 'GC'
  for (const p of ['transport', 'core', 'fetch']) if (u.includes(`/${p}/dist/`)) return `ours: ${p}`
  if (u.includes('node_modules/undici/')) return 'undici (npm)'
  if (u.includes('internal/deps/undici')) return "Node's undici (Request, Response)"
  if (u.includes('/bench/')) return 'bench'
  if (u === '') return `native ${f.functionName}`
  return `node ${u.replace(/^node:/, '').split('/').slice(0, 2).join('/')}`
}
const site = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|packages)\//, '').replace(/^node:/, '')}:${f.lineNumber + 1}`
const bySite = new Map()
const byWhere = new Map()
let busy = 0
for (const [id, c] of counts) {
  const f = byId.get(id).callFrame
  const w = where(f)
  if (w === 'idle') continue
  busy += c
  byWhere.set(w, (byWhere.get(w) ?? 0) + c)
  bySite.set(site(f), (bySite.get(site(f)) ?? 0) + c)
}
const perRequest = (cpu.user + cpu.system) / N
const show = (map, k) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, c]) => `${((100 * c) / busy).toFixed(1).padStart(5)}%  ${((perRequest * c) / busy).toFixed(2).padStart(6)} µs  ${name}`).join('\n')
console.log(`${setting}: node ${process.version}, ${N} requests at c${C}, ${perRequest.toFixed(2)} µs CPU/request (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`)
console.log(show(byWhere, 20))
console.log('-- self time by function')
console.log(show(bySite, Number(process.env.ROUNDTRIP_PROFILE_TOP ?? 40)))
