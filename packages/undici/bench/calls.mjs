// Function calls per request of Node's global fetch over its own dispatcher
// against the same fetch after install(new Transport()), each in its own
// process as apps/bench's `fetch` and `fetch-bridged` clients: V8's precise
// coverage with call counts, taken over N requests after W warm-up requests.
// A count does not depend on the machine's load, where CPU time on a shared
// 2-CPU VM moves by 20-40% between runs; it shows where the bridge adds work
// (by origin: Node's undici, npm undici, our packages, Node's own JS) and
// which of Node's own functions run more often. Counts of functions V8 had
// optimized (and inlined) before the coverage started can be low: compare
// the two processes, not absolute figures. Run after `npm run build`:
//   node bench/calls.mjs [warm-up requests=5000] [requests=1000] [top=25]
// It also lists the top functions of ours (roundtrip) by calls per request.
// Any Node >= 20.19 runs it (Node 24: ~/.cache/roundtrip/node/24.*/bin/node).
import { execFileSync } from 'node:child_process'
import { Session } from 'node:inspector/promises'
import { fileURLToPath } from 'node:url'
import { startCannedServer } from '../../../test/bench-loopback.mjs'

const [, , first = '5000', second = '1000', third = '25', fourth] = process.argv

/** originOf names where a function comes from. */
function originOf(url) {
  if (url === import.meta.url) return 'this script'
  if (url.includes('deps/undici')) return "Node's undici"
  if (url.includes('node_modules/undici')) return 'npm undici'
  if (url.includes('/packages/') || url.includes('@roundtrip')) return 'roundtrip'
  if (url.startsWith('node:')) return "Node's JS"
  return 'other'
}

/** child runs one setting (`fetch` or `fetch-bridged`) and prints its calls per request by function as JSON. */
async function child(setting, url, warm, n) {
  if (setting === 'fetch-bridged') {
    const { Transport } = await import('@roundtrip/transport')
    const { install } = await import('@roundtrip/undici')
    install(new Transport())
  }
  const get = async () => (await (await fetch(url)).arrayBuffer()).byteLength
  for (let i = 0; i < warm; i++) await get()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false })
  await session.post('Profiler.takePreciseCoverage')
  for (let i = 0; i < n; i++) await get()
  const { result } = await session.post('Profiler.takePreciseCoverage')
  const calls = {}
  for (const script of result) {
    for (const f of script.functions) {
      const count = f.ranges[0].count
      if (count === 0) continue
      const key = `${originOf(script.url)}\t${f.functionName || '(anonymous)'} ${script.url.replace(/.*\/(packages|node_modules)\//, '')}:${f.ranges[0].startOffset}`
      calls[key] = (calls[key] ?? 0) + count / n
    }
  }
  process.stdout.write(JSON.stringify(calls))
}

if (fourth !== undefined) {
  // As a child: <setting> <url> <warm> <n>.
  await child(first, second, Number(third), Number(fourth))
  process.exit(0)
}

const warm = Number(first)
const n = Number(second)
const top = Number(third)
const server = await startCannedServer()
const settings = ['fetch', 'fetch-bridged']
const runs = settings.map((setting) =>
  JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), setting, server.url, String(warm), String(n)], { encoding: 'utf8', maxBuffer: 64 << 20 })),
)
server.stop()
console.log(`Node ${process.version}: function calls per request after ${warm} warm-up requests, over ${n} (each setting in its own process)`)
const byOrigin = runs.map((calls) => {
  const sums = {}
  for (const [key, count] of Object.entries(calls)) sums[key.split('\t')[0]] = (sums[key.split('\t')[0]] ?? 0) + count
  return sums
})
const origins = [...new Set(byOrigin.flatMap((sums) => Object.keys(sums)))]
console.log(`${'origin'.padEnd(16)}${settings.map((s) => s.padStart(15)).join('')}`)
for (const origin of [...origins, 'all']) {
  const cells = byOrigin.map((sums) => (origin === 'all' ? Object.values(sums).reduce((a, b) => a + b, 0) : (sums[origin] ?? 0)).toFixed(1).padStart(15))
  console.log(`${origin.padEnd(16)}${cells.join('')}`)
}
const [base, bridged] = runs
const keys = new Set([...Object.keys(base), ...Object.keys(bridged)])
const diffs = [...keys].filter((key) => key.startsWith("Node's JS")).map((key) => [(bridged[key] ?? 0) - (base[key] ?? 0), key])
diffs.sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
console.log(`\nNode's own functions whose calls per request differ most (fetch-bridged - fetch):`)
for (const [d, key] of diffs.slice(0, top)) if (Math.abs(d) >= 0.5) console.log(`${d >= 0 ? '+' : ''}${d.toFixed(1).padStart(6)}  ${key.split('\t')[1]}`)
const ours = Object.entries(bridged).filter(([key]) => key.startsWith('roundtrip'))
ours.sort((a, b) => b[1] - a[1])
console.log(`\nOur functions by calls per request (fetch-bridged, top ${top}):`)
for (const [key, count] of ours.slice(0, top)) console.log(`${count.toFixed(1).padStart(6)}  ${key.split('\t')[1]}`)
