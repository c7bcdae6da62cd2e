import { channel } from 'node:diagnostics_channel'

/** RedirectMessage is what `channels.redirect` publishes for each redirect followed. URLs are given without credentials. */
export interface RedirectMessage {
  /** The method of the next hop (a 303 turns a POST into a GET). */
  method: string
  /** The redirect's status. */
  status: number
  /** The URL that answered with the redirect. */
  from: string
  /** The URL of the next hop. */
  to: string
}

/**
 * The `node:diagnostics_channel` channels `createFetch` publishes on. URLs
 * are given without credentials.
 */
export const channels = {
  /** A redirect is followed: a {@link RedirectMessage}. */
  redirect: channel('roundtrip:fetch:redirect'),
}
