// In-process, interleaved A/B of the tracker's CPU cost per request over a
// loopback server, as the README's cost table reports it. The server (a raw
// node:net server answering every request head with one canned keep-alive
// response) runs in a child process; this process runs createFetch over a
// Transport, alone and under leakTracker, 64 requests in flight, each body
// read with text(). Every round runs each setting once, in rotated order;
// the cost is the median over rounds of (setting − createFetch) in the same
// round, with its interquartile range. CPU time (user + system), not wall
// time: the machine is shared. Run after `npm run build`, from this folder:
//   node bench/ab.mjs [rounds=20] [requests per run=3000]
// ROUNDTRIP_AB_SETTINGS=base,off,caller picks the settings (default: all
// three); with ROUNDTRIP_AB_PREV=<a previous build's index.js>, `prev` is
// that build with stacks off. Any Node >= 20.19 runs it
// (~/.cache/roundtrip/node/24.*/bin/node). ROUNDTRIP_AB_BASE=memory
// replaces the Transport with an in-memory RoundTripper whose bodies declare
// what they hold, as the Transport's do (no sockets: the tracker's own cost
// stands out of the noise). ROUNDTRIP_AB_HEAP=<requests> then records, per
// setting, a sampling allocation profile (every 4 KiB on average, collected
// objects included, as apps/bench's --heap-prof) over that many requests and
// prints the bytes allocated per request: that figure does not depend on load.
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import { memoryRoundTripper } from './memory.mjs'
import { interleave, quantile, sampleAllocations, startCannedServer } from '../../../test/bench-loopback.mjs'

const ROUNDS = Number(process.argv[2] ?? 20)
const N = Number(process.argv[3] ?? 3000)
const C = 64

const server = await startCannedServer()
const url = server.url

const below = process.env.ROUNDTRIP_AB_BASE === 'memory' ? () => memoryRoundTripper('hello world') : () => new Transport()
const prev = process.env.ROUNDTRIP_AB_PREV ? await import(new URL(process.env.ROUNDTRIP_AB_PREV, `file://${process.cwd()}/`).href) : undefined
const all = {
  prev: () => compose(below(), prev.leakTracker({ captureStack: false })),
  base: () => compose(below()),
  off: () => compose(below(), leakTracker({ captureStack: false })),
  caller: () => compose(below(), leakTracker({ captureStack: 'caller' })),
}
const names = (process.env.ROUNDTRIP_AB_SETTINGS ?? 'base,off,caller').split(',')
const settings = names.map((name) => {
  const client = all[name]()
  return { name, client, fetch: createFetch(client), cpu: [] }
})

async function run(fetch, n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) {
      const response = await fetch(url)
      if ((await response.text()).length !== 11) throw new Error('short body')
    }
  }
  await Promise.all(Array.from({ length: C }, loop))
}

for (const s of settings) await run(s.fetch, 3 * N) // warm-up: JIT and 64 connections each
await interleave(settings, ROUNDS, N, (s) => run(s.fetch, N))

const base = settings.find((s) => s.name === 'base')
const { loadavg } = await import('node:os')
console.log(`${process.env.ROUNDTRIP_AB_BASE === 'memory' ? 'in memory' : 'loopback'}, node ${process.version}, ${ROUNDS} rounds of ${N} requests at c${C}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
for (const s of settings) {
  const line = [`${s.name.padEnd(7)} median ${quantile(s.cpu, 0.5).toFixed(1)} µs/req`]
  if (base !== undefined && s !== base) {
    const diffs = s.cpu.map((c, i) => c - base.cpu[i])
    const median = quantile(diffs, 0.5)
    line.push(
      `Δ median ${median >= 0 ? '+' : ''}${median.toFixed(1)} µs (${((100 * median) / quantile(base.cpu, 0.5)).toFixed(1)}%)`,
      `IQR ${quantile(diffs, 0.25).toFixed(1)}..${quantile(diffs, 0.75).toFixed(1)}`,
    )
  }
  console.log(line.join(', '))
}
const heapRequests = Number(process.env.ROUNDTRIP_AB_HEAP ?? 0)
if (heapRequests > 0) {
  for (let round = 0; round < 2; round++) {
    for (const s of settings) {
      const { total } = await sampleAllocations(() => run(s.fetch, heapRequests), 4096)
      console.log(`${s.name.padEnd(7)} allocated ${(total / heapRequests).toFixed(0)} B/request (${heapRequests} requests, round ${round + 1})`)
    }
  }
}
for (const s of settings) await s.client.close()
server.stop()
