import { describe, expect, it } from 'vitest'
import { MAX_REPLAYS, shouldResend } from './retry-policy.js'

// The one rule of roundTrip and the undici direct path, case by case; the
// tests over real servers are resend-bound.test.ts and idle-reuse.test.ts.

const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })
const unprocessed = Object.assign(new Error('REFUSED_STREAM'), { code: 'RT_H2_UNPROCESSED' })
const protocol = Object.assign(new Error('bad chunk'), { code: 'HPE_INVALID_CHUNK_SIZE' })

describe('shouldResend', () => {
  it('resends a request never started on a reused conn whatever its policy, uncounted, however many replays came before', () => {
    for (const policy of ['stale', 'unwritten', 'never'] as const) expect(shouldResend(socket, true, false, policy, MAX_REPLAYS)).toBe('unwritten')
  })

  it('replays a started request on a reused conn only under the stale policy, and only below MAX_REPLAYS', () => {
    expect(shouldResend(socket, true, true, 'stale', 0)).toBe('replay')
    expect(shouldResend(socket, true, true, 'stale', MAX_REPLAYS - 1)).toBe('replay')
    expect(shouldResend(socket, true, true, 'stale', MAX_REPLAYS)).toBeUndefined()
    expect(shouldResend(socket, true, true, 'unwritten', 0)).toBeUndefined()
    expect(shouldResend(socket, true, true, 'never', 0)).toBeUndefined()
  })

  it('never resends after a failure on a fresh conn, nor after an error that is not a socket failure', () => {
    expect(shouldResend(socket, false, false, 'stale', 0)).toBeUndefined()
    expect(shouldResend(socket, false, true, 'stale', 0)).toBeUndefined()
    expect(shouldResend(protocol, true, true, 'stale', 0)).toBeUndefined()
    expect(shouldResend(protocol, true, false, 'stale', 0)).toBeUndefined()
  })

  it('replays an HTTP/2 stream the server did not process, on any conn, when its body can be sent again or was not read; bounded alike', () => {
    expect(shouldResend(unprocessed, false, true, 'unwritten', 0)).toBe('replay')
    expect(shouldResend(unprocessed, false, true, 'never', 0)).toBeUndefined()
    expect(shouldResend(unprocessed, false, false, 'never', 0)).toBe('replay')
    expect(shouldResend(unprocessed, true, true, 'stale', MAX_REPLAYS)).toBeUndefined()
  })
})
