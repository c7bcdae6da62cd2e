// Micro-benchmark of the leak tracker's per-request cost, in process, over
// an in-memory RoundTripper (no I/O): each request is made 8 frames deep in
// application code and its body read with text(). Its bodies declare what
// they hold, as the Transport's do. Run after `npm run build`:
//   node --expose-gc bench/micro.mjs
// Prints CPU µs per request for each setting, best of 5 rounds.
import { compose } from '@roundtrip/core'
import { leakTracker } from '@roundtrip/leak-tracker'
import { memoryRoundTripper } from './memory.mjs'

const N = Number(process.env.N ?? 50_000)
const base = memoryRoundTripper('hello')
const request = () => new Request('http://127.0.0.1:1/x')

// 8 frames of "application code" above the call.
async function d8(c) { return d7(c) }
async function d7(c) { return d6(c) }
async function d6(c) { return d5(c) }
async function d5(c) { return d4(c) }
async function d4(c) { return d3(c) }
async function d3(c) { return d2(c) }
async function d2(c) { return d1(c) }
async function d1(c) {
  const response = await c.roundTrip(request())
  return response.text()
}

// CPU time, not wall time: the machine is shared, and a descheduled
// process would otherwise be charged for other processes' work.
const cpuUs = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}
async function loop(client) {
  const start = cpuUs()
  for (let i = 0; i < N; i++) await d8(client)
  return (cpuUs() - start) / N
}

// The capture alone, in the two ways: formatting the stack as text (v1) and
// the structured capture that formats only your frame (v2).
function v1Capture(limit) {
  const holder = {}
  const saved = Error.stackTraceLimit
  Error.stackTraceLimit = limit
  Error.captureStackTrace(holder, v1Capture)
  Error.stackTraceLimit = saved
  return holder.stack
}
function syncDepth(n, f) { return n === 0 ? f() : syncDepth(n - 1, f) }
function captureLoop(f) {
  const start = cpuUs()
  for (let i = 0; i < N; i++) syncDepth(8, f)
  return (cpuUs() - start) / N
}

// V1=<dir of the previous build's index.js> compares with it.
const v1 = process.env.V1 ? await import(new URL(process.env.V1 + '/index.js', `file://${process.cwd()}/`).href) : undefined
const settings = [
  ['base only (no tracker)', () => base],
  ['captureStack: false', () => compose(base, leakTracker({ captureStack: false }))],
  ["captureStack: 'caller' (default: 100 stacks/s)", () => compose(base, leakTracker({ captureStack: 'caller' }))],
  ["captureStack: 'caller', every request", () => compose(base, leakTracker({ captureStack: 'caller', maxStacksPerSecond: Infinity }))],
  ["captureStack: 'full', every request", () => compose(base, leakTracker({ captureStack: 'full', maxStacksPerSecond: Infinity }))],
  ['captureStack: false, breakDeadlocks', () => compose(base, leakTracker({ captureStack: false, breakDeadlocks: true }))],
]
if (v1 !== undefined) {
  settings.push(
    ['previous: captureStack: false', () => compose(base, v1.leakTracker({ captureStack: false }))],
    ["previous: captureStack: 'caller'", () => compose(base, v1.leakTracker({ captureStack: 'caller' }))],
  )
}
const best = new Map()
for (let round = 0; round < 5; round++) {
  for (const [name, make] of settings) {
    const client = make()
    const us = await loop(client)
    best.set(name, Math.min(best.get(name) ?? Infinity, us))
  }
  for (const [name, f] of [
    ['v1 capture: 12 frames, formatted by Node', () => v1Capture(12)],
    ['v1 capture: 4 frames, formatted by Node', () => v1Capture(4)],
  ]) best.set(name, Math.min(best.get(name) ?? Infinity, captureLoop(f)))
}
const baseline = best.get('base only (no tracker)')
for (const [name, us] of best) {
  const extra = name.startsWith('v1') || name.startsWith('base') ? '' : ` (+${(us - baseline).toFixed(2)} µs)`
  console.log(`${name.padEnd(48)} ${us.toFixed(2)} µs${extra}`)
}
