// A loopback server for the in-process A/B harnesses (packages/*/bench/ab.mjs):
// a raw node:net server, in a child process of its own, that answers every
// request head with one canned keep-alive response (an 11-byte body, as
// apps/bench's `raw` server), several at once when requests are pipelined.
import { spawn } from 'node:child_process'

const source = `
const net = require('node:net')
const reply = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-type: text/plain\\r\\ncontent-length: 11\\r\\nkeep-alive: timeout=60\\r\\n\\r\\nhello world')
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

/** The body every response carries. */
export const CANNED_BODY = 'hello world'

/**
 * startCannedServer starts the server; `cpu` pins its process to that CPU
 * (with taskset, as apps/bench does). Resolves with its origin and a
 * `close()` that ends the child process.
 */
export async function startCannedServer(cpu) {
  const child =
    cpu === undefined
      ? spawn(process.execPath, ['-e', source], { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', String(cpu), process.execPath, '-e', source], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  return { origin: `http://127.0.0.1:${port}`, close: () => child.stdin.end() }
}
