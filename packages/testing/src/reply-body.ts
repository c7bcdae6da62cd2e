import { createBody, createResponse, isNullBodyStatus, type ResponseBodyInit, type TrackedBody } from '@roundtrip/core'
import { ERR_MOCK_INVALID, TestingError } from './errors.js'
import type { JsonValue } from './matchers.js'

/**
 * ReplyBody is what an interceptor can answer with: a string (sent as
 * `text/plain;charset=UTF-8`), bytes, a `ReadableStream` of bytes (streamed;
 * usable for one reply only), `null`/`undefined` for no body, or any other
 * JSON value (sent as `application/json`). A `content-type` given in the
 * reply's headers wins over these defaults.
 */
export type ReplyBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | Exclude<JsonValue, string> | undefined

/** ReplyInit is the rest of a reply: headers and status text. */
export interface ReplyInit {
  headers?: ConstructorParameters<typeof Headers>[0]
  statusText?: string
}

/** ReplySpec is a whole reply, as a reply function may return it. */
export interface ReplySpec extends ReplyInit {
  /** Default 200. */
  status?: number
  body?: ReplyBody
}

/** checkStatus rejects a status a `Response` cannot carry, at the point the reply is set up. */
export function checkStatus(status: unknown, where: string): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new TestingError(ERR_MOCK_INVALID, `${where}: status must be an integer from 200 to 599 (what a Response can carry), got ${String(status)}`)
  }
  return status
}

function isStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof value === 'object' && value !== null && typeof (value as ReadableStream).getReader === 'function'
}

/**
 * streamBody feeds a tracked body from `stream`, pulled as the consumer
 * reads; an abort of `signal` errors the body with the signal's reason, as a
 * transport's body errors when its request is aborted mid-read.
 */
function streamBody(stream: ReadableStream<Uint8Array>, signal: AbortSignal): TrackedBody {
  const reader = stream.getReader()
  let pumping = false
  const finish = (): void => signal.removeEventListener('abort', onAbort)
  const onAbort = (): void => {
    finish()
    sink.error(signal.reason)
    reader.cancel(signal.reason).catch(() => {})
  }
  const pump = async (): Promise<void> => {
    if (pumping) return
    pumping = true
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (sink.outcome !== undefined) return
        if (done) {
          finish()
          sink.end()
          return
        }
        if (!sink.push(value)) return
      }
    } catch (error) {
      finish()
      sink.error(error)
    } finally {
      pumping = false
    }
  }
  const { body, sink } = createBody({
    pull: () => void pump(),
    cancel: (reason) => {
      finish()
      reader.cancel(reason).catch(() => {})
    },
  })
  signal.addEventListener('abort', onAbort, { once: true })
  return body
}

/**
 * buildResponse makes the response to `request` with core's `createResponse`
 * (so `url` is the request's URL and `redirected` is false, as a transport
 * sets them). HEAD requests and null-body statuses get no body.
 */
export function buildResponse(request: Request, status: number, body: ReplyBody, init: ReplyInit = {}): Response {
  const headers = new Headers(init.headers)
  const noBody = request.method === 'HEAD' || isNullBodyStatus(status)
  let payload: ResponseBodyInit | TrackedBody | null = null
  let type: string | undefined
  if (body === undefined || body === null) payload = null
  else if (typeof body === 'string') {
    payload = body
    type = 'text/plain;charset=UTF-8'
  } else if (body instanceof Uint8Array || body instanceof ArrayBuffer) payload = body
  else if (isStream(body)) {
    if (noBody) void body.cancel().catch(() => {})
    else payload = streamBody(body, request.signal)
  } else {
    payload = JSON.stringify(body)
    type = 'application/json'
  }
  if (type !== undefined && !headers.has('content-type')) headers.set('content-type', type)
  if (noBody) payload = null
  const info = { status, headers, url: request.url, redirected: false, type: 'basic' as const }
  return createResponse(payload, init.statusText === undefined ? info : { ...info, statusText: init.statusText })
}
