// Bytes allocated per request by one setting, in memory (bench/memory.mjs:
// no sockets, bodies that declare what they hold, as the Transport's do),
// through createFetch, 64 requests in flight, each body read with text():
// a sampling allocation profile every 128 bytes on average, collected objects
// included, over 40 000 requests after a warm-up. The figure does not depend
// on the machine's load; run it a few times per setting and compare the
// means. Run after `npm run build`, from this folder:
//   node bench/alloc.mjs base|off|caller [breakDeadlocks] [top]
// `breakDeadlocks` turns the breaker on; `top` lists the functions that
// allocated most (inlined functions count as their caller).
// ROUNDTRIP_AB_PREV=<a previous build's index.js> measures that build instead.
import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker as current } from '@roundtrip/leak-tracker'
import { memoryRoundTripper } from './memory.mjs'
import { sampleAllocations } from '../../../test/bench-loopback.mjs'

const setting = process.argv[2] ?? 'off'
const flags = new Set(process.argv.slice(3))
const prev = process.env.ROUNDTRIP_AB_PREV
const leakTracker = prev ? (await import(new URL(prev, `file://${process.cwd()}/`).href)).leakTracker : current
const below = memoryRoundTripper('hello world')
const options = { captureStack: setting === 'caller' ? 'caller' : false, ...(flags.has('breakDeadlocks') ? { breakDeadlocks: true } : {}) }
const client = setting === 'base' ? compose(below) : compose(below, leakTracker(options))
const fetch = createFetch(client)
const url = 'http://127.0.0.1:8/x'

async function run(n) {
  let left = n
  const loop = async () => {
    while (left-- > 0) await (await fetch(url)).text()
  }
  await Promise.all(Array.from({ length: 64 }, loop))
}

await run(60_000)
const N = 40_000
const { total, byFunction } = await sampleAllocations(() => run(N), 128)
console.log(`${setting}${flags.has('breakDeadlocks') ? ' breakDeadlocks' : ''}${prev ? ' (previous build)' : ''}, node ${process.version}: ${(total / N).toFixed(0)} B/request`)
if (flags.has('top')) {
  for (const [key, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(bytes / N).toFixed(0).padStart(6)} ${key}`)
}
await client.close()
