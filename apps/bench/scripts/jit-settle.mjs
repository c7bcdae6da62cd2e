// How many requests a client needs before V8 stops compiling its code: run
// with V8's tracing, `node --trace-opt --trace-deopt scripts/jit-settle.mjs
// <client id> [requests] [bin] [concurrency]` (after `npm run build`), it
// drives one client against the bench's raw server (in its own process) and,
// every `bin` requests, prints how many optimized compilations V8 finished
// and how many deoptimizations it made meanwhile. Unlike CPU per request,
// these counts do not depend on the machine's load: a client is at its JIT
// steady state once both stay near zero.
import { CASES } from '../dist/cases.js'
import { findClient } from '../dist/clients/index.js'
import { startServer } from '../dist/processes.js'

const [id = 'fetch', total = '60000', bin = '2000', concurrency = '1'] = process.argv.slice(2)
const entry = findClient(id)
if (entry === undefined) throw new Error(`unknown client ${id}`)
const server = await startServer(CASES[0], false)
const client = (await entry.load())()
const url = server.urls[0]
let done = 0
const loop = async () => {
  while (done < Number(total)) {
    await client.get(url)
    if (++done % Number(bin) === 0) process.stdout.write(`\n#bin ${done}\n`)
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, loop))
await client.close()
server.stop()
