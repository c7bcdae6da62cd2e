import { chain, compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { logger, retry, timeout } from '@roundtrip/middleware'
import { Transport } from '@roundtrip/transport'
import type { Client } from './client.js'

/**
 * createMiddlewareClient measures `createFetch(compose(new Transport(),
 * chain(logger({ log: noop }), retry(), timeout(30_000))))`, body read with
 * `arrayBuffer()`: the cost of the usual stack (a log record per call, a
 * retry layer that never fires on a healthy server, a deadline per attempt)
 * against `create-fetch`.
 */
export function createMiddlewareClient(): Client {
  const transport = new Transport()
  const fetch = createFetch(compose(transport, chain(logger({ log: () => {} }), retry(), timeout(30_000))))
  return {
    get: async (url) => (await (await fetch(url)).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
