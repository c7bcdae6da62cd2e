import { Transport } from '@roundtrip/transport'

let shared: Transport | undefined

/**
 * defaultTransport returns the Transport shared by `createFetch()` without
 * an argument and by the package's `fetch`, created on first use with the
 * default options. Its idle connections do not keep the process alive.
 */
export function defaultTransport(): Transport {
  shared ??= new Transport()
  return shared
}
