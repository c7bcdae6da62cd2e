import { channel } from 'node:diagnostics_channel'

/**
 * The `node:diagnostics_channel` channels `createFetch` publishes on. URLs
 * are given without credentials.
 */
export const channels = {
  /**
   * A redirect is followed: `{ method, status, from, to }` — the method of
   * the next hop (a 303 turns a POST into a GET), the redirect's status, the
   * URL that answered it and the URL of the next hop.
   */
  redirect: channel('roundtrip:fetch:redirect'),
}
