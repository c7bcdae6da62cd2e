// Minimal types for the test SOCKS5 server package (it ships none).
declare module '@mongodb-js/socksv5' {
  import type { Server } from 'node:net'
  interface ConnectionInfo {
    cmd: string
    srcAddr: string
    srcPort: number
    dstAddr: string
    dstPort: number
  }
  interface SocksServer extends Server {
    useAuth(auth: unknown): this
  }
  const socks: {
    createServer(onConnection: (info: ConnectionInfo, accept: (intercept?: boolean) => unknown, deny: () => void) => void): SocksServer
    auth: { None(): unknown; UserPassword(check: (user: string, password: string, cb: (ok: boolean) => void) => void): unknown }
  }
  export default socks
}
