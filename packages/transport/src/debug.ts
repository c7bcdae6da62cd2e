import { debugOnce, type DebugLog } from '@roundtrip/core'
import { channels } from './trace.js'

// NODE_DEBUG=roundtrip:pool (or roundtrip, roundtrip*): one line per pool
// event, from the Transport's own diagnostics channels. When the section is
// off nothing subscribes, so every `hasSubscribers` check stays false and the
// Transport pays one boolean test per constructor.

interface PoolMessage {
  key: string
  error?: unknown
  reason?: unknown
  reused?: boolean
  wasIdle?: boolean
  waiting?: number
  requests?: number
  request?: string
  proxy?: string
  target?: string
}

/** describeError is an error's code and message on one line. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message
}

/** startDebug subscribes the `roundtrip:pool` debug lines to the channels, once per process, when NODE_DEBUG asks for them. */
export function startDebug(): void {
  debugOnce('pool', subscribeAll)
}

function on(name: keyof typeof channels, line: (m: PoolMessage) => string, log: DebugLog): void {
  channels[name].subscribe((message) => log('%s', line(message as PoolMessage)))
}

function subscribeAll(log: DebugLog): void {
  on('connectStart', (m) => `dial ${m.key}`, log)
  on('connected', (m) => (m.error === undefined ? `dialed ${m.key}` : `dial failed ${m.key}: ${describeError(m.error)}`), log)
  on('proxyConnect', (m) => `tunnel to ${m.target} via ${m.proxy} for ${m.key}`, log)
  on('proxyConnected', (m) =>
    m.error === undefined ? `tunnel open to ${m.target} via ${m.proxy}` : `tunnel failed to ${m.target} via ${m.proxy}: ${describeError(m.error)}`, log)
  on('gotConn', (m) => `${m.reused === true ? 'reuse' : 'use new'} conn ${m.key}${m.wasIdle === true ? ' (was idle)' : ''}`, log)
  on('queued', (m) => `wait for a conn ${m.key} (${m.waiting} waiting)`, log)
  on('waitFailed', (m) => `wait failed ${m.key}: ${String(m.reason)}`, log)
  on('idle', (m) => `conn idle ${m.key} after ${m.requests} requests`, log)
  on('closed', (m) => `conn closed ${m.key}: ${String(m.reason)}`, log)
  on('staleRetry', (m) => `retry ${m.request} on another conn: the reused conn failed (${describeError(m.error)})`, log)
}
