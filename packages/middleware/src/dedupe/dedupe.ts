import { callSignal, deriveRequest, discardResponse, tryRoundTrip, type CallSignal, type Middleware } from '@roundtrip/core'
import { layer } from '../layer.js'
import { invalidOption } from '../errors.js'

/** Options for {@link dedupe}. */
export interface DedupeOptions {
  /**
   * The key under which identical requests share one round trip; undefined
   * means "never share this one". Default {@link dedupeKey}.
   */
  key?: (request: Request) => string | undefined
}

/**
 * dedupeKey is the default key of {@link dedupe}: method, URL and every
 * header, for a GET or HEAD without a body; undefined for anything else.
 */
export function dedupeKey(request: Request): string | undefined {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || request.body !== null) return undefined
  let key = `${request.method} ${request.url}`
  // Headers iterate sorted by name, so equal header sets give equal keys.
  for (const [name, value] of request.headers) key += `\n${name}: ${value}`
  return key
}

interface Caller {
  resolve(response: Response): void
  reject(error: unknown): void
  signal: CallSignal
  onAbort(): void
}

interface Flight {
  callers: Caller[]
  controller: AbortController
}

/**
 * dedupe is a middleware that lets identical concurrent GET and HEAD
 * requests share one round trip: while a request is waiting for its
 * response head, an identical one (same method, URL and headers) joins it
 * instead of going down. When the head arrives, each caller gets its own
 * `Response` with its own body (the first the response, the others
 * `clone()`s of it made at once), so each reads, or cancels, independently;
 * the shared connection is released when the last of them has read to the
 * end or cancelled. A failure rejects every caller with the same error.
 * Nothing is cached: a request made after the head arrived goes down again.
 *
 * A caller whose signal aborts while waiting rejects at once with its
 * reason; the shared request is aborted only when every caller has left.
 * The request sent is the first caller's (its context, trace hooks
 * included). Bodies are buffered for the slowest reader, as `clone()` does.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), dedupe())
 * const [a, b] = await Promise.all([client.roundTrip(new Request(url)), client.roundTrip(new Request(url))]) // one request sent
 * ```
 */
export function dedupe(options: DedupeOptions = {}): Middleware {
  const keyOf = options.key ?? dedupeKey
  if (typeof keyOf !== 'function') throw invalidOption('dedupe', 'key must be a function')
  return function dedupeLayer(next) {
    const flights = new Map<string, Flight>()

    function start(key: string, request: Request): Flight {
      const flight: Flight = { callers: [], controller: new AbortController() }
      flights.set(key, flight)
      tryRoundTrip(next, deriveRequest(request, { signal: flight.controller.signal })).then(
        (response) => {
          if (flights.get(key) === flight) flights.delete(key)
          const callers = flight.callers.splice(0)
          if (callers.length === 0) {
            discardResponse(response)
            return
          }
          // Every branch is made before any is handed over, so none has been read yet.
          const responses = [response]
          for (let i = 1; i < callers.length; i++) responses.push(response.clone())
          callers.forEach((caller, i) => {
            caller.signal.removeEventListener('abort', caller.onAbort)
            caller.resolve(responses[i]!)
          })
        },
        (error: unknown) => {
          if (flights.get(key) === flight) flights.delete(key)
          for (const caller of flight.callers.splice(0)) {
            caller.signal.removeEventListener('abort', caller.onAbort)
            caller.reject(error)
          }
        },
      )
      return flight
    }

    return layer((request) => {
      let key: string | undefined
      try {
        key = keyOf(request)
      } catch (error) {
        return Promise.reject(error)
      }
      if (key === undefined) return tryRoundTrip(next, request)
      // The caller's abort, or a deadline of a timeout() above.
      const signal = callSignal(request)
      if (signal.aborted) return Promise.reject(signal.reason)
      const flight = flights.get(key) ?? start(key, request)
      return new Promise<Response>((resolve, reject) => {
        // The listener in a local, not a literal member of the caller (see transport's no-pretenured-closures test).
        const onAbort = (): void => {
          const i = flight.callers.indexOf(caller)
          if (i < 0) return
          flight.callers.splice(i, 1)
          reject(signal.reason)
          if (flight.callers.length === 0) {
            // Nobody waits any more: a later identical request starts afresh.
            if (flights.get(key) === flight) flights.delete(key)
            flight.controller.abort(signal.reason)
          }
        }
        const caller: Caller = { resolve, reject, signal, onAbort }
        signal.addEventListener('abort', caller.onAbort, { once: true })
        flight.callers.push(caller)
      })
    })
  }
}
