import { debugLog } from '@roundtrip/core'
import { channels } from './channels.js'

// NODE_DEBUG=roundtrip:fetch (or roundtrip, roundtrip*): one line per
// redirect followed. When the section is off nothing subscribes and
// `createFetch` pays one boolean test per fetch function made.

let started = false

interface RedirectMessage {
  method: string
  status: number
  from: string
  to: string
}

/** startDebug subscribes the `roundtrip:fetch` debug lines, once per process, when NODE_DEBUG asks for them. */
export function startDebug(): void {
  if (started) return
  started = true
  const log = debugLog('fetch')
  if (log === undefined) return
  channels.redirect.subscribe((message) => {
    const m = message as RedirectMessage
    log('redirect %d %s → %s %s', m.status, m.from, m.method, m.to)
  })
}
