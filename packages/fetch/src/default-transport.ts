import { proxyFromEnvironment, Transport, type TransportOptions } from '@roundtrip/transport'

let shared: Transport | undefined

/**
 * defaultTransportOptions are the options of the shared Transport: with
 * `NODE_USE_ENV_PROXY=1` in `env` it routes through the proxies of
 * `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`, as Node's own fetch does; otherwise
 * it goes direct.
 */
export function defaultTransportOptions(env: Record<string, string | undefined> = process.env): TransportOptions {
  return env['NODE_USE_ENV_PROXY'] === '1' ? { proxy: proxyFromEnvironment(env) } : {}
}

/**
 * defaultTransport returns the Transport shared by `createFetch()` without
 * an argument and by the package's `fetch`, created on first use with
 * {@link defaultTransportOptions}. Its idle connections do not keep the
 * process alive.
 */
export function defaultTransport(): Transport {
  shared ??= new Transport(defaultTransportOptions())
  return shared
}
