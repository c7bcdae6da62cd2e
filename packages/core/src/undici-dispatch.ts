/**
 * undiciDispatch is the well-known symbol of an optional fast entry point a
 * RoundTripper may offer for requests that arrive as undici dispatches (Node's
 * own `fetch` and `undici.request` over `@roundtrip/undici`'s `toDispatcher`):
 * `rt[undiciDispatch](options, handler, trace?, waiting?)` runs the dispatch on the
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
 *
 * `waiting`, when given, makes the dispatch the dispatcher's own, as a
 * dispatcher's bridge (`toDispatcher`) needs it, in two ways:
 *
 * - the object that runs the dispatch (an {@link UndiciWaitingDispatch})
 *   joins `waiting` when it takes the dispatch, before `onConnect`, and
 *   leaves it at the final response head (status 200 or more: not at a 1xx
 *   one), at the end or at its failure, whichever comes first; while it is
 *   in the list, its `abort(reason)` fails it with `reason` (the
 *   dispatcher's `destroy(reason)`). A dispatch failed before it started (a
 *   closed RoundTripper) never joins. A streaming response is not in the
 *   list, so an abandoned one stays collectable;
 * - its failures reach the handler as an undici dispatcher's would: a coded
 *   error is handed on as `systemCause` (errors.ts) makes it (the system or undici
 *   error under it, carrying the coded one), not as `roundTrip` rejects.
 *
 * Without `waiting`, neither: nothing is listed and the handler hears the
 * coded errors. A RoundTripper made before this argument existed ignores it:
 * a bridge that relies on it must come from the same release.
 */
export interface UndiciDispatchable {
  /** Runs one undici dispatch; see the interface's contract. */
  [undiciDispatch](options: object, handler: object, trace?: object, waiting?: UndiciWaitingList): boolean
}

/**
 * UndiciWaitingList is a dispatcher's list of its dispatches that wait for a
 * response head (see {@link UndiciDispatchable}'s `waiting`), so that it can
 * fail them: `@roundtrip/undici`'s `toDispatcher` keeps one for its
 * `destroy()`. Order is not kept.
 */
export interface UndiciWaitingList {
  /** add puts `dispatch` in the list (it is in no list). */
  add(dispatch: UndiciWaitingDispatch): void
  /** delete takes `dispatch` out; false when it was not in the list. */
  delete(dispatch: UndiciWaitingDispatch): boolean
}

/** UndiciWaitingDispatch is one dispatch in an {@link UndiciWaitingList}. */
export interface UndiciWaitingDispatch {
  /**
   * The list's own record of where the dispatch is (a list may keep its
   * place there, so that `delete` needs no lookup): -1 while it is in no
   * list, which is how the dispatch starts it; only the list writes it.
   */
  slot: number
  /**
   * abort fails the dispatch with `reason`: its handler's `onError` hears
   * `reason` (once, as for an abort through `onConnect`'s callback), and it
   * leaves the list. Nothing when it has already ended.
   */
  abort(reason: Error): void
}

/** hasUndiciDispatch reports whether `value` offers {@link undiciDispatch}. */
export function hasUndiciDispatch(value: unknown): value is UndiciDispatchable {
  return typeof (value as Partial<UndiciDispatchable> | null)?.[undiciDispatch] === 'function'
}
