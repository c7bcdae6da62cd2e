// [KEY=rsa] [N=300] node apps/bench/scripts/tls-resume.mjs — the time and CPU of a new TLS connection (one request each,
// keep-alive off) with session resumption (maxCachedSessions 100) and without (0), alternating, 3 rounds. Loopback,
// client and server in one process: CPU is both sides'.
import { createServer } from 'node:https'
import { generate } from 'selfsigned'
import { Transport } from '@roundtrip/transport'
import { withContext } from '@roundtrip/core'

const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: process.env.KEY ?? 'ec', keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] })
const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => res.end('ok'))
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const origin = `https://127.0.0.1:${server.address().port}`
const N = Number(process.env.N ?? 300)
async function run(maxCachedSessions) {
  const transport = new Transport({ tls: { ca: pems.cert }, disableKeepAlives: true, maxCachedSessions })
  let resumed = 0
  const trace = { tlsHandshakeDone: (s) => { if (s.resumed) resumed++ } }
  const start = performance.now()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < N; i++) await (await transport.roundTrip(withContext(new Request(origin), { trace }))).text()
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  await transport.close()
  return { ms, resumed, cpuUs: (cpu.user + cpu.system) / N }
}
const rows = { on: [], off: [] }
for (let round = 0; round < 3; round++) {
  for (const [name, max] of [['on', 100], ['off', 0]]) rows[name].push(await run(max))
}
for (const [name, list] of Object.entries(rows)) {
  const per = list.map((r) => r.ms / N).sort((a, b) => a - b)
  console.log(`resumption ${name}: median ${per[1].toFixed(3)} ms per new connection (rounds ${per.map((p) => p.toFixed(3)).join(', ')}), resumed ${list.map((r) => r.resumed).join('/')} of ${N}; CPU (client + server, one process) ${list.map((r) => r.cpuUs.toFixed(0)).join('/')} µs per connection`)
}
server.close()
