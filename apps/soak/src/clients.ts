// The clients a scenario can drive. The Transport is the one under test;
// Node's global fetch and undici's fetch are comparison columns, because
// issue 18 quotes their figures.
import { createFetch } from '@roundtrip/fetch'
import { Transport, type TransportOptions } from '@roundtrip/transport'
import { Agent, fetch as undiciFetch } from 'undici'

/** SoakClient sends one request the way its library does and resolves with the response. */
export interface SoakClient {
  readonly name: string
  fetch(url: string, init?: RequestInit): Promise<Response>
  /** close releases the client's connections (waits for the pool to close). */
  close(): Promise<void>
}

/** transportClient drives `Transport.roundTrip(new Request(url, init))`. */
export function transportClient(options?: TransportOptions): SoakClient & { transport: Transport } {
  const transport = new Transport(options)
  return {
    name: 'transport',
    transport,
    fetch: (url, init) => transport.roundTrip(new Request(url, init)),
    close: () => transport.close(),
  }
}

/** createFetchClient drives `createFetch(new Transport())`. */
export function createFetchClient(options?: TransportOptions): SoakClient {
  const transport = new Transport(options)
  const fetch = createFetch(transport)
  return { name: 'create-fetch', fetch: (url, init) => fetch(url, init), close: () => transport.close() }
}

/** nodeFetchClient drives Node's global fetch (its own global pool: nothing to close). */
export function nodeFetchClient(): SoakClient {
  return { name: 'node-fetch', fetch: (url, init) => globalThis.fetch(url, init), close: () => Promise.resolve() }
}

/** undiciFetchClient drives undici's own `fetch` over an Agent of its own. */
export function undiciFetchClient(): SoakClient {
  const agent = new Agent()
  return {
    name: 'undici-fetch',
    fetch: (url, init) => undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>,
    close: () => agent.close(),
  }
}

/** ClientFactory makes a fresh client for one case. */
export type ClientFactory = () => SoakClient

/** clientsFor lists the Transport, and with `compare` Node's fetch and undici's fetch. */
export function clientsFor(compare: boolean): ClientFactory[] {
  const under: ClientFactory = () => transportClient()
  return compare ? [under, nodeFetchClient, undiciFetchClient] : [under]
}

/** errorCode walks an error and its causes for the first string `code` (else the name). */
export function errorCode(error: unknown): string {
  let e = error as { code?: unknown; cause?: unknown; name?: unknown } | undefined
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    if (typeof e.code === 'string') return e.code
    e = e.cause as typeof e
  }
  const top = error as { name?: unknown } | null
  return typeof top?.name === 'string' ? top.name : String(error)
}

/** errorText is an error's message and its causes' messages, joined. */
export function errorText(error: unknown): string {
  const parts: string[] = []
  let e = error as { message?: unknown; cause?: unknown } | undefined
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    if (typeof e.message === 'string') parts.push(e.message)
    e = e.cause as typeof e
  }
  return parts.join(' ← ')
}
