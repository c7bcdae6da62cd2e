// The in-memory RoundTripper of the benchmarks (no sockets). As the
// Transport does, each call reads the call's trace (core's callTrace) and
// calls its getConn, gotConn and putIdleConn hooks, and each body declares
// the pool of the connection it holds, released once the whole response
// arrived: a tracker that uses the trace pays for it here too.
import { callTrace, createBody, createResponse, roundTripper } from '@roundtrip/core'

const POOL = 'http://127.0.0.1:1'
const INFO = Object.freeze({ reused: true, wasIdle: true, idleTime: 0, protocol: 'http/1.1', shared: false })

function hook(trace, name, arg) {
  const fn = trace[name]
  if (fn === undefined) return
  try {
    fn.call(trace, arg)
  } catch (error) {
    process.emitWarning(String(error))
  }
}

export function memoryRoundTripper(text) {
  const chunk = new TextEncoder().encode(text)
  const rt = roundTripper(async (request) => {
    const trace = callTrace(request)
    if (trace !== undefined) {
      hook(trace, 'getConn', POOL)
      hook(trace, 'gotConn', INFO)
    }
    const { body, sink } = createBody({})
    sink.hold(POOL)
    sink.push(chunk)
    if (trace !== undefined) hook(trace, 'putIdleConn', undefined)
    sink.release()
    sink.end()
    return createResponse(body, { status: 200, url: request.url })
  })
  return Object.assign(rt, { close: async () => {} })
}
