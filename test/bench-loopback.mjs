// What the in-process benchmarks of the packages share (packages/*/bench):
// a loopback server in a child process, and bytes allocated per request by
// V8's sampling heap profiler.
import { spawn } from 'node:child_process'
import { Session } from 'node:inspector/promises'

const serverSource = `
const net = require('node:net')
const reply = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-length: 11\\r\\ncontent-type: text/plain\\r\\nkeep-alive: timeout=60\\r\\n\\r\\nhello world')
const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  let tail = ''
  socket.on('data', (chunk) => {
    const text = tail + chunk.toString('latin1')
    let n = 0, at = 0, i
    while ((i = text.indexOf('\\r\\n\\r\\n', at)) !== -1) { n++; at = i + 4 }
    tail = text.slice(at)
    if (n === 1) socket.write(reply)
    else if (n > 1) socket.write(Buffer.concat(Array(n).fill(reply)))
  })
  socket.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'))
process.stdin.on('end', () => process.exit(0)).resume()
`

/**
 * startCannedServer starts, in a child process, a raw node:net server that
 * answers every request head with one canned keep-alive response (`hello
 * world`, 11 bytes, as apps/bench's `raw` server), several at once when
 * requests are pipelined; `cpu` pins that process to a CPU (with taskset, as
 * apps/bench does). `origin` is the server's, `url` a URL on it, `stop()`
 * ends the child.
 */
export async function startCannedServer(cpu) {
  const child =
    cpu === undefined
      ? spawn(process.execPath, ['-e', serverSource], { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', String(cpu), process.execPath, '-e', serverSource], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  const origin = `http://127.0.0.1:${port}`
  return { origin, url: `${origin}/x`, stop: () => child.stdin.end() }
}

/**
 * sampleAllocations records a sampling allocation profile (every `interval`
 * bytes on average, objects collected since included) while `run()` runs,
 * and returns the bytes allocated in all and by function (`name
 * file:line`, the path from `packages/` or `node_modules/` on).
 */
export async function sampleAllocations(run, interval) {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  await run()
  const { profile } = await session.post('HeapProfiler.stopSampling')
  session.disconnect()
  const byFunction = new Map()
  let total = 0
  const walk = (node) => {
    const f = node.callFrame
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(packages|node_modules)\//, '')}:${f.lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize)
    total += node.selfSize
    node.children.forEach(walk)
  }
  walk(profile.head)
  return { total, byFunction }
}

/**
 * interleave measures each setting's CPU time (user + system, µs) per
 * request over `rounds` rounds: every round runs each setting once, in
 * rotated order, reversed every other round, as `run(setting)`, which makes
 * `n` requests; the figures go to `setting.cpu`, one per round, so two
 * settings can be compared round by round (paired differences stay valid on
 * a loaded machine). The reversal matters from three settings on: rotation
 * alone keeps the cyclic order, so one setting would always run just after
 * the same other one and pay for its garbage (Node's fetch leaves much).
 */
export async function interleave(settings, rounds, n, run) {
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < settings.length; k++) {
      const at = round % 2 === 0 ? round + k : round + settings.length - 1 - k
      const s = settings[at % settings.length]
      const start = cpuUs()
      await run(s)
      s.cpu.push((cpuUs() - start) / n)
    }
  }
}

function cpuUs() {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** quantile is the `q` quantile of `xs` (0.5: the median), interpolated between the two nearest values. */
export function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo)
}
