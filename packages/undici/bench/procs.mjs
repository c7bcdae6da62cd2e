// Node's global fetch at concurrency 1, each run in a fresh process (as
// apps/bench's clients), over several dispatchers: where the bridge's cost
// at c1 comes from. In one process (ab.mjs) the settings share the JIT code
// and feedback of Node's fetch, which hides part of the difference; here
// every run has its own. A run warms up for WARM ms, then times N requests
// (body read to the end): wall and CPU (user + system) per request. Rounds
// rotate the order; the ratios are paired per round against the first
// setting, median and range. The loopback server (test/bench-loopback.mjs)
// runs pinned to CPU 0, the clients to CPU 1. Run after `npm run build`:
//   SETTINGS=a,b,c ROUNDS=10 WARM=3000 N=10000 node bench/procs.mjs
// Settings:
//   fetch                Node's fetch on its own global dispatcher
//   fetch-npm-agent      over this package's undici's Agent
//   fetch-npm-client     over one undici Client of the origin (no pool)
//   fetch-todisp-client  over toDispatcher of a RoundTripper whose undici
//                        dispatch goes to one undici Client: toDispatcher alone
//   fetch-bridged        over install(new Transport())
//   fetch-bridged-norace over install(new Transport({ raceDial: false }))
//   fetch-bridged-prev   as fetch-bridged, on an earlier build: ROUNDTRIP_AB_PREV=<dir>
//                        holding <dir>/undici/dist and <dir>/transport/dist (copies of
//                        the packages' dist, as for ab.mjs; <dir> inside the repository,
//                        so that their imports resolve)
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startCannedServer } from '../../../test/bench-loopback.mjs'

const [, , setting, url, warm, n] = process.argv

/** install sets Node's global dispatcher for `setting`. */
async function install(setting, url) {
  const undici = await import('undici')
  if (setting === 'fetch-npm-agent') return undici.setGlobalDispatcher(new undici.Agent())
  if (setting === 'fetch-npm-client') return undici.setGlobalDispatcher(new undici.Client(new URL(url).origin))
  if (setting === 'fetch-bridged-prev') {
    const prev = (pkg) => import(pathToFileURL(resolve(process.env.ROUNDTRIP_AB_PREV, pkg, 'dist/index.js')).href)
    const [bridge, { Transport }] = await Promise.all([prev('undici'), prev('transport')])
    return bridge.install(new Transport())
  }
  const bridge = await import('@roundtrip/undici')
  if (setting === 'fetch-todisp-client') {
    const { undiciDispatch } = await import('@roundtrip/core')
    const client = new undici.Client(new URL(url).origin)
    const roundTripper = {
      roundTrip: () => Promise.reject(new Error('procs.mjs: only the undici dispatch is measured')),
      [undiciDispatch]: (options, handler) => (client.dispatch(options, handler), true),
    }
    return bridge.install(roundTripper)
  }
  const { Transport } = await import('@roundtrip/transport')
  if (setting === 'fetch-bridged') return bridge.install(new Transport())
  if (setting === 'fetch-bridged-norace') return bridge.install(new Transport({ raceDial: false }))
  throw new Error(`procs.mjs: unknown setting ${setting}`)
}

if (n !== undefined) {
  // As a child: <setting> <url> <warm ms> <requests>.
  if (setting !== 'fetch') await install(setting, url)
  const get = async () => (await (await fetch(url)).arrayBuffer()).byteLength
  const t0 = performance.now()
  while (performance.now() - t0 < Number(warm)) await get()
  const cpu = process.cpuUsage()
  const t1 = performance.now()
  for (let i = 0; i < Number(n); i++) await get()
  const wall = ((performance.now() - t1) * 1000) / Number(n)
  const used = process.cpuUsage(cpu)
  process.stdout.write(JSON.stringify({ wall, cpu: (used.user + used.system) / Number(n) }))
  process.exit(0)
}

const settings = (process.env.SETTINGS ?? 'fetch,fetch-npm-agent,fetch-bridged').split(',')
const rounds = Number(process.env.ROUNDS ?? 10)
const server = await startCannedServer(0)
const runs = Object.fromEntries(settings.map((s) => [s, []]))
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < settings.length; k++) {
    const s = settings[(round + k) % settings.length]
    const args = [fileURLToPath(import.meta.url), s, server.url, process.env.WARM ?? '3000', process.env.N ?? '10000']
    runs[s].push(JSON.parse(execFileSync('taskset', ['-c', '1', process.execPath, ...args], { encoding: 'utf8' })))
  }
}
server.stop()
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const base = runs[settings[0]]
console.log(`Node ${process.version}, ${rounds} rounds, c1, a fresh process per run`)
for (const s of settings) {
  const speed = runs[s].map((r, i) => base[i].wall / r.wall)
  const cpu = runs[s].map((r, i) => r.cpu / base[i].cpu)
  const line = `wall ${median(runs[s].map((r) => r.wall)).toFixed(1)} µs, CPU ${median(runs[s].map((r) => r.cpu)).toFixed(1)} µs per request`
  console.log(`${s.padEnd(22)} ${line}; vs ${settings[0]}: speed ${median(speed).toFixed(3)}× (${Math.min(...speed).toFixed(2)}–${Math.max(...speed).toFixed(2)}), CPU ${median(cpu).toFixed(3)}×`)
}
