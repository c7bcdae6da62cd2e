import { connect as netConnect, isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import { errors } from 'undici'
import {
  ERR_CONNECT_FAILED,
  ERR_CONNECT_REFUSED,
  ERR_TRANSPORT_CLOSED,
  TransportError,
} from './errors.js'
import { hostPort, type ConnectMethod } from './connect-method.js'
import { connectTimeoutError, Deadline } from './deadlines.js'
import type { TlsOptions } from './options.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { TlsSessionCache } from './tls-sessions.js'
import { callHook, channels, type ClientTrace, type ProxyConnectInfo } from './trace.js'
import { connectSocks } from './socks.js'
import { connectTunnel } from './tunnel.js'

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

function connectError(error: unknown, peer: string, what: string, timeout: number): TransportError {
  if (error instanceof TransportError) return error
  const code = (error as { code?: string } | null)?.code
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return connectTimeoutError(timeout, what, error)
  if (code === 'ECONNREFUSED') {
    return new TransportError(ERR_CONNECT_REFUSED, `connect refused by ${peer} (${what})`, { cause: error })
  }
  const message = (error as Error | null)?.message ?? String(error)
  return new TransportError(ERR_CONNECT_FAILED, `connect to ${peer} failed: ${message} (${what})`, { cause: error })
}

/** The ALPN list of a connection that speaks HTTP/1.1 only (to a proxy: CONNECT is HTTP/1.1). */
const HTTP1_ONLY = ['http/1.1']

/** handshake runs TLS over `socket` to `hostname`, offering the session cached for it, reporting to the trace; resolves with the TLS socket. */
async function handshake(
  socket: Duplex,
  hop: 'proxy' | 'target',
  hostname: string,
  port: number,
  tls: TlsOptions | undefined,
  sessions: TlsSessionCache,
  trace: ClientTrace | undefined,
  signal: AbortSignal,
  opened: Duplex[],
  alpn: string[],
): Promise<TLSSocket> {
  callHook(trace, 'tlsHandshakeStart')
  const servername = tls?.servername ?? (isIP(hostname) === 0 ? hostname : undefined)
  // Sessions made with the proxy's TLS options are never offered to a target (nor the reverse).
  const sessionKey = `${hop} ${servername ?? hostname}:${port}`
  const session = sessions.get(sessionKey)
  const secure = tlsConnect({
    ...tls,
    socket,
    ...(servername === undefined ? {} : { servername }),
    ...(session === undefined ? {} : { session }),
    ALPNProtocols: alpn,
  })
  sessions.watch(secure, sessionKey)
  opened.push(secure)
  try {
    await waitFor(secure, 'secureConnect', signal)
  } catch (error) {
    callHook(trace, 'tlsHandshakeDone', { protocol: null, alpnProtocol: null, resumed: false }, error as Error)
    throw error
  }
  callHook(trace, 'tlsHandshakeDone', { protocol: secure.getProtocol(), alpnProtocol: secure.alpnProtocol, resumed: secure.isSessionReused() })
  return secure
}

/** isSocket: whether a dial hook's answer is something to use (and destroy), not nothing. */
function isSocket(value: unknown): value is Duplex {
  return typeof (value as { destroy?: unknown } | null)?.destroy === 'function'
}

/**
 * heedSignal resolves with the dial hook's socket, or rejects with the
 * signal's reason (connect timeout, transport closed) if that comes first: a
 * hook that ignores its signal must not hold the dial, its timeout or
 * `close()`. Any thenable is heeded, not only a `Promise`. What it gives
 * after that is nobody's: a socket is destroyed, anything else (nothing, a
 * late rejection) is dropped without an unhandled rejection.
 */
function heedSignal(dialed: Duplex | PromiseLike<Duplex>, signal: AbortSignal): Promise<Duplex> {
  if (typeof (dialed as { then?: unknown } | null)?.then !== 'function') return Promise.resolve(dialed as Duplex)
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    Promise.resolve(dialed).then(
      (socket) => {
        signal.removeEventListener('abort', onAbort)
        if (!signal.aborted) resolve(socket)
        else if (isSocket(socket)) {
          try {
            socket.destroy()
          } catch {
            // Nobody's socket: a destroy that throws has nobody to tell.
          }
        }
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** openSocket connects the first hop: the `dial` hook, or TCP. */
async function openSocket(method: ConnectMethod, options: ResolvedOptions, signal: AbortSignal, opened: Duplex[]): Promise<Duplex> {
  const { hostname, port } = method.firstHop
  if (options.dial === undefined) {
    // As undici's connector: no Nagle delay on small writes, TCP keep-alive probes on long-idle sockets.
    const socket = netConnect({
      host: hostname,
      port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      ...(options.autoSelectFamily === undefined ? {} : { autoSelectFamily: options.autoSelectFamily }),
      ...(options.autoSelectFamilyAttemptTimeout === undefined ? {} : { autoSelectFamilyAttemptTimeout: options.autoSelectFamilyAttemptTimeout }),
    })
    opened.push(socket)
    await waitFor(socket, 'connect', signal)
    return socket
  }
  const protocol = (method.proxy ?? method.target).protocol
  const socket = await heedSignal(options.dial({ protocol, hostname, port, key: method.key, signal }), signal)
  // RT_CONNECT_FAILED (see connectError), not a TypeError from reading it.
  if (!isSocket(socket)) throw new Error('the dial hook gave no socket')
  opened.push(socket)
  signal.throwIfAborted()
  if ((socket as Socket).connecting === true) await waitFor(socket, 'connect', signal)
  return socket
}

/** openTunnel asks the proxy for a tunnel to the target (CONNECT or SOCKS5), reporting to the trace and the channels. */
async function openTunnel(
  socket: Duplex,
  method: ConnectMethod,
  options: ResolvedOptions,
  trace: ClientTrace | undefined,
  signal: AbortSignal,
  what: string,
): Promise<Duplex> {
  const info: ProxyConnectInfo = { proxy: method.proxy!.display, target: hostPort(method.target.hostname, method.target.port) }
  callHook(trace, 'proxyConnectStart', info)
  if (channels.proxyConnect.hasSubscribers) channels.proxyConnect.publish({ key: method.key, ...info })
  try {
    const tunnel = method.tunnel ? await connectTunnel(socket, method, options, signal, what) : await connectSocks(socket, method, options.lookup, signal, what)
    callHook(trace, 'proxyConnectDone', info)
    if (channels.proxyConnected.hasSubscribers) channels.proxyConnected.publish({ key: method.key, ...info })
    return tunnel
  } catch (error) {
    callHook(trace, 'proxyConnectDone', info, error as Error)
    if (channels.proxyConnected.hasSubscribers) channels.proxyConnected.publish({ key: method.key, ...info, error })
    throw error
  }
}

/**
 * dialConn opens the socket of a new connection along the steps of its
 * connect method: TCP (or the `dial` hook) to the first hop, TLS to an
 * `https://` proxy, a CONNECT or SOCKS5 tunnel through the proxy, then TLS
 * to an `https:` target with ALPN (`h2` and/or `http/1.1`, from the
 * `protocols` option: the caller reads the choice off the TLS socket), all within `connectTimeout`. `request.what` names the request that asked for it, for
 * error messages (read only to write one). `closing` aborts when the transport closes. The dial
 * outlives the request that started it: another request may use the
 * connection.
 */
export async function dialConn(
  method: ConnectMethod,
  options: ResolvedOptions,
  trace: ClientTrace | undefined,
  request: { readonly what: string },
  closing: AbortSignal,
): Promise<Duplex> {
  const hop = method.firstHop
  const address = `${hop.hostname}:${hop.port}`
  const key = method.key
  callHook(trace, 'connectStart', 'tcp', address)
  if (channels.connectStart.hasSubscribers) channels.connectStart.publish({ key })
  const controller = new AbortController()
  const signal = controller.signal
  const onClosing = (): void => controller.abort(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while connecting (${request.what})`))
  closing.addEventListener('abort', onClosing, { once: true })
  // The deadline's reason is undici's own ConnectTimeoutError, as its connector makes it: the
  // cause under RT_CONNECT_TIMEOUT that Node's fetch and undici users read (`cause.code`).
  const timedOut = (): Error => new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${address}, timeout: ${options.connectTimeout}ms)`)
  const deadline = new Deadline(options.clock, () => controller.abort(timedOut()), false)
  deadline.arm(options.connectTimeout)
  // Every socket made on the way, to destroy them all on failure: a TLS
  // socket does not always take the socket under it down with it.
  const opened: Duplex[] = []
  let connected = false
  try {
    let socket = await openSocket(method, options, signal, opened)
    connected = true
    callHook(trace, 'connectDone', 'tcp', address)
    const { target, proxy } = method
    // A TLSSocket from the dial hook is TLS to the first hop already.
    let secured = socket instanceof TLSSocket
    if (proxy?.protocol === 'https:' && !secured) {
      socket = await handshake(socket, 'proxy', proxy.hostname, proxy.port, options.proxyTls, options.tlsSessions, trace, signal, opened, HTTP1_ONLY)
    }
    if (proxy !== undefined) {
      if (!method.forward) socket = await openTunnel(socket, method, options, trace, signal, request.what)
      opened.push(socket)
      secured = false
    }
    if (target.protocol === 'https:' && !secured) {
      socket = await handshake(socket, 'target', target.hostname, target.port, options.tls, options.tlsSessions, trace, signal, opened, options.protocols.alpn)
    }
    if (channels.connected.hasSubscribers) channels.connected.publish({ key })
    return socket
  } catch (error) {
    for (const socket of opened) socket.destroy()
    const failure = connectError(error, method.proxy === undefined ? method.target.key : `proxy ${method.proxy.display}`, request.what, options.connectTimeout)
    if (!connected) callHook(trace, 'connectDone', 'tcp', address, failure)
    if (channels.connected.hasSubscribers) channels.connected.publish({ key, error: failure })
    throw failure
  } finally {
    deadline.disarm()
    closing.removeEventListener('abort', onClosing)
  }
}
