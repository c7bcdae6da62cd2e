import { afterEach } from 'vitest'
import type { Transport } from '../src/index.js'

/** Registers what a test opens, to close it after the test. */
export interface Fixture {
  /** Closes `server` after the test; returns it. */
  serve<S extends { close(): Promise<void> }>(server: S): S
  /** Destroys and closes `transport` after the test; returns it. */
  use(transport: Transport): Transport
}

/**
 * useFixture registers an afterEach that destroys each transport used by
 * the test (failing what is still in flight), waits for it to close, then
 * closes each server.
 */
export function useFixture(): Fixture {
  const servers: Array<{ close(): Promise<void> }> = []
  const transports: Transport[] = []
  afterEach(async () => {
    for (const transport of transports.splice(0)) {
      transport.destroy()
      await transport.close()
    }
    await Promise.all(servers.splice(0).map((server) => server.close()))
  })
  return {
    serve(server) {
      servers.push(server)
      return server
    },
    use(transport) {
      transports.push(transport)
      return transport
    },
  }
}
