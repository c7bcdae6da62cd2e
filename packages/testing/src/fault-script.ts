import { ERR_MOCK_INVALID, TestingError } from './errors.js'

/**
 * Fault is what goes wrong with a scripted response, and where:
 * - `close-…` ends the connection cleanly (FIN), `reset-…` aborts it (RST);
 * - `…-before-head`: nothing of the response is sent;
 * - `…-mid-head`: part of the status line and headers is sent
 *   (`faultAfterBytes`, default half of the head);
 * - `…-mid-body`: the head and part of the body are sent (`faultAfterBytes`,
 *   default half of the body);
 * - `…-after-body`: the whole response is sent, then the connection ends
 *   without a `Connection: close` (the stale keep-alive case);
 * - `stall-head`: nothing is sent for `stallMs` (default: until the client or
 *   the server closes), then the response goes out;
 * - `stall-body`: the head and `faultAfterBytes` of the body are sent, then
 *   nothing for `stallMs`, then the rest.
 */
export type Fault =
  | 'close-before-head'
  | 'reset-before-head'
  | 'close-mid-head'
  | 'reset-mid-head'
  | 'close-mid-body'
  | 'reset-mid-body'
  | 'close-after-body'
  | 'reset-after-body'
  | 'stall-head'
  | 'stall-body'

const FAULTS = new Set<string>([
  'close-before-head',
  'reset-before-head',
  'close-mid-head',
  'reset-mid-head',
  'close-mid-body',
  'reset-mid-body',
  'close-after-body',
  'reset-after-body',
  'stall-head',
  'stall-body',
])

/** An interim (1xx) response sent before the final one. */
export interface InformationalResponse {
  /** 100–199 except 101 (which would switch protocols). */
  status: number
  headers?: Record<string, string>
}

/** ScriptedResponse is one response of a fault server's script, with what goes wrong with it. */
export interface ScriptedResponse {
  /** Default 200. */
  status?: number
  statusText?: string
  /** Response headers; an array value sends the header once per value. */
  headers?: Record<string, string | string[]>
  /** Default empty. */
  body?: string | Uint8Array
  /** Send the body chunked instead of with a `Content-Length`. */
  chunked?: boolean
  /** The `Content-Length` to send instead of the body's length: a server that lies. */
  contentLength?: number
  /** Interim responses (103 Early Hints, 100 Continue, …) sent before the final head. */
  informational?: InformationalResponse[]
  /** What goes wrong; see {@link Fault}. */
  fault?: Fault
  /** For `…-mid-head`, `…-mid-body` and `stall-body`: bytes of the head or body sent before the fault. Default half. */
  faultAfterBytes?: number
  /** For `stall-…`: how long to send nothing, in milliseconds. Default: until the client or the server closes. */
  stallMs?: number
  /** Send the body `bytes` at a time, waiting `intervalMs` milliseconds between pieces. */
  throttle?: { bytes: number; intervalMs: number }
  /**
   * Exact bytes to send instead of a response made from the fields above
   * (for protocol violations: a bad status line, conflicting framing
   * headers, broken chunking). The connection is closed after them (reset
   * with `fault: 'reset-after-body'`); other fields must be left out.
   */
  raw?: string | Uint8Array
}

function invalid(message: string): TestingError {
  return new TestingError(ERR_MOCK_INVALID, `fault server: ${message}`)
}

function count(value: unknown, name: string, min: number): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < min)) {
    throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`)
  }
}

/** checkScript rejects a scripted response that cannot be sent, when it is queued rather than when a request arrives. */
export function checkScript(response: ScriptedResponse): void {
  if (typeof response !== 'object' || response === null) throw invalid('a scripted response must be an object')
  if (response.raw !== undefined) {
    const others = Object.keys(response).filter((k) => k !== 'raw' && !(k === 'fault' && response.fault === 'reset-after-body'))
    if (others.length > 0) throw invalid(`a raw response takes no other field (got ${others.join(', ')})`)
  }
  const status = response.status ?? 200
  if (!Number.isInteger(status) || status < 200 || status > 999) throw invalid(`status must be an integer from 200 to 999, got ${String(response.status)}`)
  if (response.fault !== undefined && !FAULTS.has(response.fault)) throw invalid(`unknown fault ${JSON.stringify(response.fault)}; one of ${[...FAULTS].join(', ')}`)
  count(response.contentLength, 'contentLength', 0)
  count(response.faultAfterBytes, 'faultAfterBytes', 0)
  count(response.stallMs, 'stallMs', 0)
  if (response.throttle !== undefined) {
    count(response.throttle.bytes, 'throttle.bytes', 1)
    count(response.throttle.intervalMs, 'throttle.intervalMs', 0)
  }
  for (const info of response.informational ?? []) {
    if (!Number.isInteger(info.status) || info.status < 100 || info.status > 199 || info.status === 101) {
      throw invalid(`an informational status must be 100–199 other than 101, got ${String(info.status)}`)
    }
  }
}
