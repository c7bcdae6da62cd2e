import { compose } from '@roundtrip/core'
import { createFetch } from '@roundtrip/fetch'
import { leakTracker, type CaptureStack } from '@roundtrip/leak-tracker'
import { Transport } from '@roundtrip/transport'
import type { Client } from './client.js'

/**
 * createLeakTrackedClient measures `createFetch(compose(new Transport(),
 * leakTracker({ captureStack })))`, body read with `arrayBuffer()`:
 * `captureStack` false is the tracker's bookkeeping alone, `'caller'` (its
 * default) adds the stack capture that names the requesting line.
 */
export function createLeakTrackedClient(captureStack: CaptureStack): Client {
  const transport = new Transport()
  const fetch = createFetch(compose(transport, leakTracker({ captureStack })))
  return {
    get: async (url) => (await (await fetch(url)).arrayBuffer()).byteLength,
    close: () => transport.close(),
  }
}
