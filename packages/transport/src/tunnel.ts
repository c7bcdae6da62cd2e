import type { Duplex } from 'node:stream'
import { Client } from 'undici'
import { hostPort, type ConnectMethod } from './connect-method.js'
import { ProxyConnectError, TransportError } from './errors.js'
import type { ResolvedOptions } from './resolve-options.js'

/**
 * connectTunnel asks the HTTP(S) proxy at the other end of `socket` to open a
 * tunnel to the method's target (`CONNECT host:port`) and resolves with the
 * socket, now carrying the tunnel. The request is written and the answer
 * parsed by an undici `Client` made for this one exchange (its HTTP/1.1
 * parser, not ours); the socket is detached from it on the answer. Any
 * answer but 200, or a socket closed before one, rejects with
 * `RT_PROXY_CONNECT_FAILED`: a 407 is not retried (the credentials are in
 * the proxy URL and would be sent again as they are).
 */
export async function connectTunnel(
  socket: Duplex,
  method: ConnectMethod,
  options: ResolvedOptions,
  signal: AbortSignal,
  what: string,
): Promise<Duplex> {
  const proxy = method.proxy!
  const authority = hostPort(method.target.hostname, method.target.port)
  const headers: Record<string, string> = { ...(await connectHeaders(options, authority, proxy.display)), host: authority }
  if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization
  let handedOver = false
  const client = new Client(`http://${hostPort(proxy.hostname, proxy.port)}`, {
    pipelining: 1,
    connect: (_opts, callback) => {
      if (handedOver) {
        process.nextTick(callback, new Error('proxy connection is closed and is not redialed'), null)
        return
      }
      handedOver = true
      // undici expects the callback to be called asynchronously.
      process.nextTick(callback, null, socket as never)
    },
  })
  client.on('connectionError', noop)
  client.on('disconnect', noop)
  const where = `CONNECT ${authority} through proxy ${proxy.display}`
  try {
    const answer = await client.connect({ path: authority, headers, signal })
    if (answer.statusCode !== 200) {
      answer.socket.destroy()
      const hint = answer.statusCode === 407 ? (proxy.authorization === undefined ? ': the proxy wants credentials (user:password@ in the proxy URL)' : ': the proxy refused the credentials') : ''
      throw new ProxyConnectError(`${where} failed with status ${answer.statusCode}${hint} (${what})`, proxy.display, answer.statusCode)
    }
    return answer.socket
  } catch (error) {
    if (error instanceof TransportError || signal.aborted) throw signal.aborted && !(error instanceof TransportError) ? signal.reason : error
    const message = (error as Error | null)?.message ?? String(error)
    throw new ProxyConnectError(`${where} failed: ${message} (${what})`, proxy.display, undefined, { cause: error })
  } finally {
    // The socket was detached on the answer (or is destroyed on failure by the dial): the client holds nothing.
    client.destroy().catch(noop)
  }
}

async function connectHeaders(options: ResolvedOptions, authority: string, proxy: string): Promise<Record<string, string> | undefined> {
  const extra = options.proxyConnectHeaders
  if (typeof extra === 'function') return (await extra(authority, proxy)) ?? undefined
  return extra
}

function noop(): void {}
