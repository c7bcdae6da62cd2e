/**
 * undiciDispatch is the well-known symbol of an optional fast entry point a
 * RoundTripper may offer for requests that arrive as undici dispatches (Node's
 * own `fetch` and `undici.request` over `@roundtrip/undici`'s `toDispatcher`):
 * `rt[undiciDispatch](options, handler)` runs the dispatch on the
 * RoundTripper's own connections without building a WHATWG `Request` and
 * `Response`. `Symbol.for('roundtrip.undiciDispatch')`, so two copies of the
 * package agree. See {@link UndiciDispatchable} for the contract.
 */
export const undiciDispatch: unique symbol = Symbol.for('roundtrip.undiciDispatch') as never

/**
 * UndiciDispatchable is a RoundTripper that can also take undici dispatches
 * directly (the pooled `Transport` of `@roundtrip/transport` is one). Only the
 * RoundTripper that owns the connections should offer it: a layer that wraps
 * another (middleware, the leak tracker, `compose`) must not, so that every
 * layer of a stack still sees each call as a `Request`; a bridge uses the
 * entry point only when it is handed such a RoundTripper itself.
 *
 * `[undiciDispatch](options, handler)` takes undici's `DispatchOptions` and a
 * handler of undici's legacy generation (`onConnect`, `onHeaders` returning
 * false to pause and handing a `resume` callback, `onData` returning false to
 * pause, `onComplete`, `onError`; optionally `onResponseStarted`,
 * `onRequestSent`, `onBodySent`), the one Node 20/22/24's fetch and
 * `undici.request` pass. It returns:
 *
 * - `true` when it took the dispatch: the handler hears of it exactly as from
 *   an undici `Dispatcher` (`onConnect` first, then the response, then one of
 *   `onComplete` or `onError`; an abort through `onConnect`'s callback ends
 *   it with `onError(reason)`). The bytes are handed on as the server sent
 *   them (no decoding: the caller decodes), and failures are the
 *   RoundTripper's own coded errors, as `roundTrip` would reject with;
 * - `false` when it did not (an upgrade, `CONNECT`, a body or a connection
 *   kind it does not take this way): it has called nothing on the handler and
 *   holds nothing of the dispatch; send it as a `Request` through `roundTrip`.
 *
 * `trace`, when given, is the dispatch's trace hooks (the RoundTripper's own
 * kind: the Transport's `ClientTrace`), called as for a `Request` whose
 * `callTrace` it is: a dispatch has no request context to carry them. A
 * bridge that falls back to `roundTrip` attaches the same object to the
 * `Request` (`attachHooks(request, { trace })`), so both paths trace alike.
 */
export interface UndiciDispatchable {
  /** Runs one undici dispatch; see the interface's contract. */
  [undiciDispatch](options: object, handler: object, trace?: object): boolean
}

/** hasUndiciDispatch reports whether `value` offers {@link undiciDispatch}. */
export function hasUndiciDispatch(value: unknown): value is UndiciDispatchable {
  return typeof (value as Partial<UndiciDispatchable> | null)?.[undiciDispatch] === 'function'
}
