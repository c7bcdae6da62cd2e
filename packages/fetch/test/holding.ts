import type { IncomingMessage, ServerResponse } from 'node:http'
import { attachHooks, CallAbortController, callSignal, tryRoundTrip, type RoundTripper } from '@roundtrip/core'
import { listen, type Origin } from '../../../test/loopback.js'

/** A request the holding server keeps: its response, and a promise that resolves when its socket closes. */
export interface Held {
  req: IncomingMessage
  res: ServerResponse
  closed: Promise<void>
}

/** The holding server: `/hello` answers, `/redirect` redirects to `/hang`, `/half` sends half a body and holds, anything else holds before the head. */
export interface HoldingServer {
  origin: Origin
  /** The requests held so far, oldest first. */
  held: Held[]
  /** Resolves with the next request the server starts holding. */
  nextHeld(): Promise<Held>
  /** Destroys every held response (for `afterEach`). */
  release(): void
}

/** Starts a {@link HoldingServer} on 127.0.0.1. */
export async function holdingServer(): Promise<HoldingServer> {
  const held: Held[] = []
  let onHeld: (() => void) | undefined
  const origin = await listen((req, res) => {
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/hang' }).end()
    if (req.url === '/hello') return void res.end('hello')
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()))
    if (req.url === '/half') {
      res.writeHead(200, { 'content-length': '4' })
      res.write('ab')
    }
    held.push({ req, res, closed })
    onHeld?.()
  })
  return {
    origin,
    held,
    nextHeld() {
      const n = held.length
      return new Promise((resolve) => {
        onHeld = () => {
          if (held.length > n) resolve(held[n]!)
        }
      })
    },
    release() {
      for (const { res } of held.splice(0)) res.destroy()
    },
  }
}

/** A layer adding its own abort to the call, as timeout()'s deadline does (a call signal, not `request.signal`); `abort` fires the latest call's. */
export function deadline(next: RoundTripper): RoundTripper & { abort(reason: unknown): void } {
  let controller: CallAbortController | undefined
  return {
    roundTrip(request) {
      controller = new CallAbortController(callSignal(request))
      const detach = attachHooks(request, controller)
      return tryRoundTrip(next, request).finally(detach)
    },
    abort: (reason) => controller!.abort(reason),
  }
}
