import { lookup as dnsLookup } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import type { Duplex } from 'node:stream'
import { SocksClient } from 'socks'
import { hostPort, type ConnectMethod } from './connect-method.js'
import { ProxyConnectError } from './errors.js'

/**
 * connectSocks runs the SOCKS5 handshake (with the proxy URL's username and
 * password, if any) on `socket`, connected to the proxy, asking for the
 * method's target, and resolves with the socket, now carrying the stream to
 * the target. The protocol is spoken by the `socks` library. `socks5://`
 * resolves the target name here and sends the address; `socks5h://` sends
 * the name for the proxy to resolve. A refusal or a socket closed during the
 * handshake rejects with `RT_PROXY_CONNECT_FAILED`.
 */
export async function connectSocks(socket: Duplex, method: ConnectMethod, lookup: LookupFunction | undefined, signal: AbortSignal, what: string): Promise<Duplex> {
  const proxy = method.proxy!
  const { hostname, port } = method.target
  const where = `SOCKS5 connect to ${hostPort(hostname, port)} through proxy ${proxy.display}`
  // socks5:// resolves the name here (a failure is ours, RT_CONNECT_FAILED); socks5h:// sends it.
  const host = proxy.protocol === 'socks5:' && isIP(hostname) === 0 ? await resolve(lookup ?? dnsLookup, hostname) : hostname
  signal.throwIfAborted()
  try {
    const handshake = SocksClient.createConnection({
      command: 'connect',
      destination: { host, port },
      proxy: {
        host: proxy.hostname,
        port: proxy.port,
        type: 5,
        ...(proxy.credentials === undefined ? {} : { userId: proxy.credentials.username, password: proxy.credentials.password }),
      },
      existing_socket: socket,
      // The dial's connectTimeout and the transport's closing bound it (through `signal`).
      timeout: 2 ** 31 - 1,
    })
    // The library takes no signal and may not notice its socket being
    // destroyed: an abort wins the race, and the dial destroys the socket.
    handshake.catch(noop)
    let onAbort = noop
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return (await Promise.race([handshake, aborted])).socket
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason
    const message = (error as Error | null)?.message ?? String(error)
    throw new ProxyConnectError(`${where} failed: ${message} (${what})`, proxy.display, undefined, { cause: error })
  }
}

function noop(): void {}

/** resolve asks `lookup` (the `lookup` option, or `dns.lookup`) for one address of `hostname`. */
function resolve(lookup: LookupFunction, hostname: string): Promise<string> {
  return new Promise((resolve, reject) => {
    lookup(hostname, {}, (error, address) => {
      if (error !== null) reject(error)
      else if (typeof address === 'string') resolve(address)
      else if (address[0] !== undefined) resolve(address[0].address)
      else reject(Object.assign(new Error(`lookup ${hostname} gave no address`), { code: 'ENOTFOUND' }))
    })
  })
}
