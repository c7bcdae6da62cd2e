import { BlockList, isIP } from 'node:net'

/** One `NO_PROXY` entry for a domain: the name itself and its subdomains, on any port or one. */
interface DomainRule {
  name: string
  port: number | undefined
}

/** One `NO_PROXY` entry for IP addresses (an address or a CIDR range), on any port or one. */
interface AddressRule {
  addresses: BlockList
  port: number | undefined
}

const ANY_PORT = undefined

/**
 * NoProxy matches hosts against a `NO_PROXY` list, as curl, Go's
 * `httpproxy` and Node's `NODE_USE_ENV_PROXY` read it. Entries are separated
 * by commas (or spaces) and compared without case:
 * - `*` matches every host;
 * - `example.com`, `.example.com` and `*.example.com` match the host and
 *   every subdomain;
 * - `host:port` matches that host on that port only;
 * - an IPv4 or IPv6 address (`10.1.2.3`, `::1`, `[::1]`, `[::1]:8080`)
 *   matches that address; a CIDR range (`10.0.0.0/8`, `fd00::/8`) every
 *   address in it. Addresses match IP hosts only, not names that resolve to
 *   them (no DNS lookup is made).
 * Entries that are none of these are ignored.
 */
export class NoProxy {
  #all = false
  readonly #domains: DomainRule[] = []
  readonly #addresses: AddressRule[] = []

  constructor(list: string | undefined) {
    if (list === undefined) return
    for (const raw of list.split(/[\s,]+/)) {
      const entry = raw.trim().toLowerCase()
      if (entry !== '') this.#add(entry)
    }
  }

  /** Whether the list has no entry at all. */
  get empty(): boolean {
    return !this.#all && this.#domains.length === 0 && this.#addresses.length === 0
  }

  #add(entry: string): void {
    if (entry === '*') {
      this.#all = true
      return
    }
    const slash = entry.indexOf('/')
    if (slash >= 0) {
      const address = unbracket(entry.slice(0, slash))
      const prefix = Number(entry.slice(slash + 1))
      const family = isIP(address)
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) return
      const addresses = new BlockList()
      addresses.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
      this.#addresses.push({ addresses, port: ANY_PORT })
      return
    }
    let host = entry
    let port: number | undefined = ANY_PORT
    if (isIP(host) === 0) {
      // `[v6]`, `[v6]:port`, `host:port` (a bare IPv6 address has colons but is caught by isIP above).
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host)
      if (match === null) return
      host = unbracket(match[1]!)
      if (match[2] !== undefined) port = Number(match[2])
    }
    const family = isIP(host)
    if (family !== 0) {
      const addresses = new BlockList()
      addresses.addAddress(host, family === 4 ? 'ipv4' : 'ipv6')
      this.#addresses.push({ addresses, port })
      return
    }
    const name = host.replace(/^\*?\./, '').replace(/\.$/, '')
    if (name !== '') this.#domains.push({ name, port })
  }

  /** matches tells whether a request to `hostname` (no brackets) on `port` bypasses the proxy. */
  matches(hostname: string, port: number): boolean {
    if (this.#all) return true
    const host = hostname.toLowerCase().replace(/\.$/, '')
    const family = isIP(host)
    if (family !== 0) {
      const type = family === 4 ? 'ipv4' : 'ipv6'
      for (const rule of this.#addresses) {
        if ((rule.port === ANY_PORT || rule.port === port) && rule.addresses.check(host, type)) return true
      }
      return false
    }
    for (const rule of this.#domains) {
      if (rule.port !== ANY_PORT && rule.port !== port) continue
      if (host === rule.name || (host.endsWith(rule.name) && host[host.length - rule.name.length - 1] === '.')) return true
    }
    return false
  }
}

function unbracket(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
}
