import { connect as netConnect, isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import {
  ERR_CONNECT_FAILED,
  ERR_CONNECT_REFUSED,
  ERR_CONNECT_TIMEOUT,
  ERR_TRANSPORT_CLOSED,
  TransportError,
} from './errors.js'
import type { ResolvedOptions } from './options.js'
import { callHook, channels, type ClientTrace } from './trace.js'

/** Target is one pool: the scheme, host and port requests are sent to. */
export interface Target {
  protocol: 'http:' | 'https:'
  hostname: string
  port: number
  /** `scheme://host:port`, the pool key. */
  key: string
}

function waitFor(socket: Duplex, event: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off(event, onDone)
      socket.off('error', onError)
      socket.off('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const onDone = (): void => {
      cleanup()
      resolve()
    }
    const onError = (error: Error): void => {
      cleanup()
      reject(error)
    }
    const onClose = (): void => {
      cleanup()
      reject(Object.assign(new Error('socket closed during connect'), { code: 'ECONNRESET' }))
    }
    const onAbort = (): void => {
      cleanup()
      reject(signal.reason)
    }
    socket.once(event, onDone)
    socket.once('error', onError)
    socket.once('close', onClose)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

function connectError(error: unknown, target: Target, what: string, timeout: number): TransportError {
  if (error instanceof TransportError) return error
  const code = (error as { code?: string } | null)?.code
  if (code === 'RT_DIAL_TIMEOUT') {
    return new TransportError(ERR_CONNECT_TIMEOUT, `connect timed out after ${timeout} ms (${what})`, { cause: error })
  }
  if (code === 'ECONNREFUSED') {
    return new TransportError(ERR_CONNECT_REFUSED, `connect refused by ${target.key} (${what})`, { cause: error })
  }
  const message = (error as Error | null)?.message ?? String(error)
  return new TransportError(ERR_CONNECT_FAILED, `connect to ${target.key} failed: ${message} (${what})`, { cause: error })
}

/**
 * dialConn opens the socket of a new connection: TCP (or the `dial` hook),
 * then TLS for `https:`, within `connectTimeout`. `what` names the request
 * that asked for it, for error messages. `closing` aborts when the transport
 * closes. The dial outlives the request that started it: another request may
 * use the connection.
 */
export async function dialConn(
  target: Target,
  options: ResolvedOptions,
  trace: ClientTrace | undefined,
  what: string,
  closing: AbortSignal,
): Promise<Duplex> {
  const address = `${target.hostname}:${target.port}`
  callHook(trace, 'connectStart', 'tcp', address)
  if (channels.connectStart.hasSubscribers) channels.connectStart.publish({ key: target.key })
  const controller = new AbortController()
  const onClosing = (): void => controller.abort(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while connecting (${what})`))
  closing.addEventListener('abort', onClosing, { once: true })
  const timer =
    options.connectTimeout > 0
      ? setTimeout(() => controller.abort(Object.assign(new Error('connect timeout'), { code: 'RT_DIAL_TIMEOUT' })), options.connectTimeout)
      : undefined
  let socket: Duplex | undefined
  let tcp: Duplex | undefined
  let connected = false
  try {
    if (options.dial !== undefined) {
      socket = await options.dial({ ...target, signal: controller.signal })
      controller.signal.throwIfAborted()
      if ((socket as Socket).connecting === true) await waitFor(socket, 'connect', controller.signal)
    } else {
      // As undici's connector: no Nagle delay on small writes, TCP keep-alive probes on long-idle sockets.
      socket = netConnect({ host: target.hostname, port: target.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 })
      await waitFor(socket, 'connect', controller.signal)
    }
    connected = true
    tcp = socket
    callHook(trace, 'connectDone', 'tcp', address)
    if (target.protocol === 'https:' && !(socket instanceof TLSSocket)) {
      callHook(trace, 'tlsHandshakeStart')
      const servername = options.tls?.servername ?? (isIP(target.hostname) === 0 ? target.hostname : undefined)
      const secure = tlsConnect({
        ...options.tls,
        socket,
        ...(servername === undefined ? {} : { servername }),
        ALPNProtocols: ['http/1.1'],
      })
      socket = secure
      try {
        await waitFor(secure, 'secureConnect', controller.signal)
      } catch (error) {
        callHook(trace, 'tlsHandshakeDone', { protocol: null, alpnProtocol: null }, error as Error)
        throw error
      }
      callHook(trace, 'tlsHandshakeDone', { protocol: secure.getProtocol(), alpnProtocol: secure.alpnProtocol })
    }
    if (channels.connected.hasSubscribers) channels.connected.publish({ key: target.key })
    return socket
  } catch (error) {
    // A TLS socket does not always take the TCP socket under it down with it.
    socket?.destroy()
    tcp?.destroy()
    const failure = connectError(error, target, what, options.connectTimeout)
    if (!connected) callHook(trace, 'connectDone', 'tcp', address, failure)
    if (channels.connected.hasSubscribers) channels.connected.publish({ key: target.key, error: failure })
    throw failure
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    closing.removeEventListener('abort', onClosing)
  }
}
