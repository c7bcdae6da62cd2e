import { debugOnce } from '@roundtrip/core'
import { channels, type RedirectMessage } from './channels.js'

// NODE_DEBUG=roundtrip:fetch (or roundtrip, roundtrip*): one line per
// redirect followed. When the section is off nothing subscribes and
// `createFetch` pays one set lookup per fetch function made.

/** startDebug subscribes the `roundtrip:fetch` debug lines, once per process, when NODE_DEBUG asks for them. */
export function startDebug(): void {
  debugOnce('fetch', (log) =>
    channels.redirect.subscribe((message) => {
      const m = message as RedirectMessage
      log('redirect %d %s → %s %s', m.status, m.from, m.method, m.to)
    }),
  )
}
