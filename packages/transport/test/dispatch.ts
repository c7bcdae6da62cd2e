import { undiciDispatch } from '@roundtrip/core'
import { Dispatcher } from 'undici'
import type { ClientTrace } from '../src/trace.js'
import type { Transport } from '../src/transport.js'
import { startServer, type TestServer } from './server.js'

/** A server that answers each request with the client port of its connection: which conn carried it. */
export async function startPortServer(): Promise<TestServer> {
  return startServer((req, res) => res.end(String(req.socket.remotePort)))
}

/**
 * dispatchGet sends a GET through the Transport's undici entry point
 * (`toDispatcher`'s direct path) with a legacy handler, as `undici.request`
 * passes one; resolves with the body, rejects with the dispatch's error.
 */
export function dispatchGet(transport: Transport, url: string, { headers = {}, trace }: { headers?: Record<string, string | string[]>; trace?: ClientTrace | undefined } = {}): Promise<string> {
  const { origin, pathname } = new URL(url)
  return new Promise((resolve, reject) => {
    let body = ''
    const handler = {
      onConnect() {},
      onHeaders: () => true,
      onData(chunk: Buffer) {
        body += chunk.toString()
        return true
      },
      onComplete: () => resolve(body),
      onError: reject,
    }
    if (!transport[undiciDispatch]({ origin, path: pathname, method: 'GET', headers }, handler, trace)) reject(new Error('the Transport refused the dispatch'))
  })
}

/** An undici Dispatcher over the Transport's direct path, for `undici.request` (which needs a Dispatcher). */
export class Direct extends Dispatcher {
  constructor(readonly transport: Transport) {
    super()
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (!this.transport[undiciDispatch](options, handler)) throw new Error('the Transport refused a dispatch it should take')
    return true
  }
}
