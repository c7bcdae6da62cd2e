import { debugOnce } from '@roundtrip/core'
import { channels } from './channels.js'
import { describeLeak, type Leak } from './leak.js'

// NODE_DEBUG=roundtrip:leak (or roundtrip, roundtrip*): one line per leak
// found, reported to onLeak or not. Off, nothing subscribes and a tracker
// pays one set lookup when it is made.

/** startDebug subscribes the `roundtrip:leak` debug lines, once per process, when NODE_DEBUG asks for them. */
export function startDebug(): void {
  debugOnce('leak', (log) => {
    channels.leak.subscribe((message) => {
      const { leak, reported } = message as { leak: Leak; reported: boolean }
      log('%s %s: %s', leak.kind, reported ? 'leak' : 'leak (not reported: report or ignoreLibraries)', describeLeak(leak))
    })
  })
}
