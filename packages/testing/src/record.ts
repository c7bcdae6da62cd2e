import { fileURLToPath } from 'node:url'
import { createResponse, isNullBodyStatus, redactUrl, roundTripper, type Middleware } from '@roundtrip/core'
import { abortable } from './abort.js'
import { ERR_MOCK_INVALID, ERR_RECORDING_MISSING, TestingError } from './errors.js'
import { loadBody, readRecording, storeBody, writeRecording, type Exchange, type StoredRequest } from './recording-file.js'

/**
 * RecordMode says what `record()` does:
 * - `record`: every request goes to the layer below; each exchange is
 *   written to the file, which is replaced on the first write;
 * - `replay`: every request is answered from the file; one without a
 *   recording rejects with `RT_RECORDING_MISSING`; nothing goes below;
 * - `auto`: answered from the file when it has the exchange, otherwise
 *   sent below and added to the file.
 */
export type RecordMode = 'record' | 'replay' | 'auto'

/** RecordOptions configure {@link record}. */
export interface RecordOptions {
  /** The recording's path (or `file:` URL). */
  file: string | URL
  /** Default `'replay'`, so a test run never reaches the network unless asked to. */
  mode?: RecordMode
  /** Request headers written to the file and matched on replay (case-insensitive). Default {@link DEFAULT_RECORDED_REQUEST_HEADERS}. */
  requestHeaders?: string[]
  /** Headers whose values are written as `[REDACTED]`, besides {@link ALWAYS_REDACTED}. */
  redact?: string[]
}

/** ALWAYS_REDACTED are the headers whose values never reach a recording. */
export const ALWAYS_REDACTED: readonly string[] = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']
/** DEFAULT_RECORDED_REQUEST_HEADERS are the request headers recorded and matched when `requestHeaders` is not given. */
export const DEFAULT_RECORDED_REQUEST_HEADERS: readonly string[] = ['accept', 'content-type']
/** REDACTED is the value written in place of a redacted header. */
export const REDACTED = '[REDACTED]'

const MODES = new Set(['record', 'replay', 'auto'])

/** The part of a recorded request that must be equal for a replay: the line, the chosen unredacted headers, the body. */
function keyOf(request: StoredRequest): string {
  const headers = Object.entries(request.headers).filter(([, v]) => v !== REDACTED)
  return JSON.stringify([request.method, request.url, headers, request.body, request.bodyEncoding ?? ''])
}

/**
 * record is middleware that records exchanges to a JSON file and replays
 * them, so a test can run against a real service once and offline after.
 * The file is stable across runs (keys sorted, exchanges sorted by request,
 * no timestamps) so it diffs well in review; `Authorization`, `Cookie`,
 * `Set-Cookie`, `Proxy-Authorization` and the `redact` headers are written
 * as `[REDACTED]`.
 *
 * A request is matched by method, URL, body and the `requestHeaders`. When
 * the same request was recorded several times, the recordings answer in
 * order, and in `'replay'` the last one answers any further repeat.
 *
 * While recording, the response body is read whole before the response is
 * handed up (a body that fails mid-way rejects the call, and nothing is
 * written); the caller gets a response built with `createResponse` from the
 * bytes, with the same status, headers, `url` and `redirected`. Errors from
 * below are passed up and not recorded.
 *
 * @throws TestingError `RT_MOCK_INVALID` for an unknown mode or a missing file option.
 *
 * @example
 * ```ts
 * const mode = process.env.RECORD === '1' ? 'record' : 'replay'
 * const fetch = createFetch(compose(new Transport(), record({ file: 'test/fixtures/github.json', mode })))
 * ```
 */
export function record(options: RecordOptions): Middleware {
  if (typeof options !== 'object' || options === null || options.file === undefined || options.file === '') {
    throw new TestingError(ERR_MOCK_INVALID, 'record: a file is required ({ file, mode })')
  }
  const mode = options.mode ?? 'replay'
  if (!MODES.has(mode)) throw new TestingError(ERR_MOCK_INVALID, `record: mode must be 'record', 'replay' or 'auto', got ${String(mode)}`)
  const file = options.file instanceof URL ? fileURLToPath(options.file) : options.file
  const chosen = (options.requestHeaders ?? DEFAULT_RECORDED_REQUEST_HEADERS).map((h) => h.toLowerCase())
  const redacted = new Set([...ALWAYS_REDACTED, ...(options.redact ?? []).map((h) => h.toLowerCase())])
  const exchanges: Exchange[] = mode === 'record' ? [] : readRecording(file).exchanges
  const byKey = new Map<string, Exchange[]>()
  for (const exchange of exchanges) {
    const key = keyOf(exchange.request)
    byKey.set(key, [...(byKey.get(key) ?? []), exchange])
  }
  const seen = new Map<string, number>()

  const describe = async (request: Request): Promise<StoredRequest> => {
    const headers: Record<string, string> = {}
    for (const name of chosen) {
      const value = request.headers.get(name)
      if (value !== null) headers[name] = redacted.has(name) ? REDACTED : value
    }
    const body = request.body === null ? null : new Uint8Array(await abortable(request.clone().arrayBuffer(), request.signal))
    return { method: request.method, url: redactUrl(request.url), headers, ...storeBody(body) }
  }

  const replay = (request: Request, exchange: Exchange): Response => {
    const r = exchange.response
    const body = request.method === 'HEAD' || isNullBodyStatus(r.status) ? null : loadBody(r)
    return createResponse(body, { status: r.status, statusText: r.statusText, headers: r.headers, url: r.url ?? request.url, redirected: false, type: 'basic' })
  }

  const save = (exchange: Exchange): void => {
    exchanges.push(exchange)
    // Sorted by request, stable for equal requests: concurrent requests land in the same order every run.
    const sorted = exchanges.map((e, i) => ({ e, i, k: keyOf(e.request) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
    writeRecording(file, { version: 1, exchanges: sorted.map((s) => s.e) })
  }

  return (next) =>
    roundTripper(async (request) => {
      if (request.signal.aborted) throw request.signal.reason
      const stored = await describe(request)
      const key = keyOf(stored)
      const nth = seen.get(key) ?? 0
      seen.set(key, nth + 1)
      const recorded = byKey.get(key) ?? []
      if (mode === 'replay' || (mode === 'auto' && nth < recorded.length)) {
        const exchange = recorded[Math.min(nth, recorded.length - 1)]
        if (exchange === undefined) throw missing(request, file, exchanges)
        return replay(request, exchange)
      }
      const response = await next.roundTrip(request)
      const bytes = response.body === null ? null : new Uint8Array(await response.arrayBuffer())
      const headers: Array<[string, string]> = [...response.headers].map(([k, v]) => [k, redacted.has(k) ? REDACTED : v])
      const exchange: Exchange = {
        request: stored,
        response: {
          status: response.status,
          statusText: response.statusText,
          headers,
          ...storeBody(bytes),
          ...(response.url !== '' && response.url !== request.url ? { url: response.url } : {}),
        },
      }
      save(exchange)
      return createResponse(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        url: response.url,
        redirected: response.redirected,
        type: response.type === 'default' ? 'basic' : response.type,
      })
    })
}

function missing(request: Request, file: string, exchanges: Exchange[]): TestingError {
  const urls = [...new Set(exchanges.map((e) => `${e.request.method} ${e.request.url}`))]
  const known = urls.length === 0 ? 'it holds no exchange' : `it holds: ${urls.slice(0, 5).join(', ')}${urls.length > 5 ? `, and ${urls.length - 5} more` : ''}`
  return new TestingError(
    ERR_RECORDING_MISSING,
    `no recording of ${request.method} ${redactUrl(request.url)} (with these headers and body) in ${file}; ${known}. Record it with mode 'record' or 'auto'.`,
  )
}
