import { connect } from 'node:net'

/** What a raw client saw on one connection. */
export interface RawExchange {
  /** Every byte received, as latin1 text. */
  data: string
  /** How the connection ended: `end` (FIN), `reset` (ECONNRESET), or `open` when `until` matched first. */
  ended: 'end' | 'reset' | 'open'
}

/**
 * rawExchange writes `requests` on one fresh TCP connection to `port` and
 * collects what comes back until the server ends the connection or `until`
 * accepts what arrived (then the client closes it). For asserting the bytes a
 * fault server sends, under any HTTP client.
 */
export function rawExchange(port: number, requests: string, until?: (data: string) => boolean): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    const done = (ended: RawExchange['ended']): void => {
      socket.destroy()
      resolve({ data, ended })
    }
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1')
      if (until?.(data) === true) done('open')
    })
    socket.on('end', () => done('end'))
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? done('reset') : reject(error)))
    socket.write(requests)
  })
}

/** A minimal GET request in HTTP/1.1 bytes. */
export function rawGet(path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`
}
