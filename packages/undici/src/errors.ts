import { RoundTripError, type RoundTripErrorOptions } from '@roundtrip/core'

/** Error code: an upgrade (WebSocket, `CONNECT`) was asked of a bridge; a RoundTripper carries one request and one response, never a socket. */
export const ERR_UPGRADE_UNSUPPORTED = 'RT_UPGRADE_UNSUPPORTED'
/** Error code: dispatch options that cannot be expressed as a WHATWG `Request` (bad origin or path, a forbidden method, a body on GET). */
export const ERR_INVALID_DISPATCH = 'RT_INVALID_DISPATCH'
/** Error code: `dispatch()` on a dispatcher made by `toDispatcher` after `close()` or `destroy()`. */
export const ERR_DISPATCHER_CLOSED = 'RT_DISPATCHER_CLOSED'
/** Error code: an argument is not what the function takes (not a Dispatcher, not a RoundTripper, a handler without an error callback). */
export const ERR_INVALID_ARGUMENT = 'RT_INVALID_ARGUMENT'

/**
 * BridgeError is the error of the undici bridge: a {@link RoundTripError}
 * with one of the codes above, a message naming the operation and the
 * target (credentials removed), and the `cause` when there is one.
 */
export class BridgeError extends RoundTripError {
  constructor(code: string, message: string, options?: RoundTripErrorOptions) {
    super(code, message, options)
    this.name = 'BridgeError'
  }
}
