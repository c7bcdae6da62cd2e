import { channel } from 'node:diagnostics_channel'
import type { Leak } from './leak.js'

/** The `node:diagnostics_channel` channels the leak tracker publishes on. */
export const channels = {
  /**
   * A leak was found (collected unread, aged past `maxAge`, blocking
   * waiters, open at exit): `{ leak, reported }`, `leak` being the
   * {@link Leak} passed to `onLeak`, `reported` false when `report` or
   * `ignoreLibraries` kept it from `onLeak`.
   */
  leak: channel('roundtrip:leak:found'),
}
