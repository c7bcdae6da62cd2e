import type { ClientFactory } from './client.js'

export type { Client, ClientFactory } from './client.js'

/** ClientEntry names one client under test and loads its adapter. */
export interface ClientEntry {
  /** id is the short name used by `--clients`. */
  id: string
  /** label is the name shown in the report. */
  label: string
  /**
   * load imports the adapter: a run process imports only the client it
   * measures, so no client pays for loading the others.
   */
  load(): Promise<ClientFactory>
  /** proxy: the client sends through the HTTP proxy it is given (it runs the proxy case). */
  proxy?: boolean
  /** tls: the client trusts the CA it is given (it runs the HTTPS/HTTP/2 cases). */
  tls?: boolean
}

/** Every client the bench knows, in report order. */
export const CLIENTS: readonly ClientEntry[] = [
  { id: 'fetch', label: 'node fetch', load: async () => (await import('./node-fetch-global.js')).createGlobalFetchClient },
  { id: 'fetch-bridged', label: 'node fetch over toDispatcher(Transport)', load: async () => (await import('./node-fetch-bridged.js')).createBridgedFetchClient },
  { id: 'undici-request', label: 'undici.request', load: async () => (await import('./undici-request.js')).createUndiciRequestClient, proxy: true, tls: true },
  { id: 'undici-pool', label: 'undici Pool.request', load: async () => (await import('./undici-pool.js')).createUndiciPoolClient },
  { id: 'undici-fetch', label: 'undici fetch', load: async () => (await import('./undici-fetch.js')).createUndiciFetchClient },
  { id: 'http', label: 'node:http keep-alive', load: async () => (await import('./node-http.js')).createNodeHttpClient },
  { id: 'got', label: 'got', load: async () => (await import('./got.js')).createGotClient },
  { id: 'axios', label: 'axios', load: async () => (await import('./axios.js')).createAxiosClient },
  { id: 'node-fetch', label: 'node-fetch', load: async () => (await import('./node-fetch.js')).createNodeFetchClient },
  { id: 'transport', label: 'Transport.roundTrip', load: async () => (await import('./transport.js')).createTransportClient, proxy: true, tls: true },
  {
    id: 'transport-h1',
    label: 'Transport.roundTrip, HTTP/1.1 only',
    load: async () => {
      const { createTransportClient } = await import('./transport.js')
      return (proxy, ca) => createTransportClient(proxy, ca, ['http1'])
    },
    tls: true,
  },
  { id: 'create-fetch', label: 'createFetch(Transport)', load: async () => (await import('./create-fetch.js')).createFetchClient },
  {
    id: 'middleware',
    label: 'createFetch + logger, retry, timeout',
    load: async () => (await import('./middleware.js')).createMiddlewareClient,
  },
  {
    id: 'leak-tracker',
    label: 'createFetch + leakTracker',
    load: async () => {
      const { createLeakTrackedClient } = await import('./leak-tracker.js')
      return () => createLeakTrackedClient(false)
    },
  },
  {
    id: 'leak-tracker-stacks',
    label: 'createFetch + leakTracker (stacks)',
    load: async () => {
      const { createLeakTrackedClient } = await import('./leak-tracker.js')
      return () => createLeakTrackedClient('caller')
    },
  },
]

/** findClient returns the client whose id or label is `name`, or undefined. */
export function findClient(name: string): ClientEntry | undefined {
  return CLIENTS.find((c) => c.id === name || c.label === name)
}
