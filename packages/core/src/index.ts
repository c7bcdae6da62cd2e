export type { RoundTripper, Middleware, Closable, RoundTripFunction } from './round-tripper.js'
export { roundTripper, isRoundTripper, tryRoundTrip, kResolvesResponse, kRejectsOnAbort, rejectsOnAbort, declareRejectsOnAbort, declareResolvesResponse } from './round-tripper.js'
export type { RoundTripContinuation, RoundTripThen, RoundTripThenMethod } from './round-trip-then.js'
export { kRoundTripThen, roundTripThen, declareRoundTripThen, reactWith } from './round-trip-then.js'
export type { UndiciDispatchable, UndiciWaitingDispatch, UndiciWaitingList } from './undici-dispatch.js'
export { undiciDispatch, hasUndiciDispatch } from './undici-dispatch.js'
export type { ComposedRoundTripper, ForwardedLifecycle } from './compose.js'
export { compose, forwardLifecycle } from './compose.js'
export { chain } from './chain.js'
export type { ResponseInfo, ResponseBodyInit, ResponseType, TrackedBody } from './response.js'
export { RoundTripResponse, createResponse, isNullBodyStatus, withResponseInfo } from './response.js'
export type { BodyOutcome, BodyObserver, BodyListener, BodyProducer, BodySettled, BodySink, BodyOptions } from './body.js'
export { createBody, observeBody, abortBody, mapBodyError, whenBodySettles, DEFAULT_BODY_HIGH_WATER_MARK } from './body.js'
export { isBodyUnread, isBodyComplete } from './body-unread.js'
export type { BodyHold } from './body-hold.js'
export { bodyHold } from './body-hold.js'
export { discardResponse } from './discard.js'
export type { RequestContext } from './context.js'
export { getContext, withContext, deriveRequest, carryRequest, derivedFrom } from './context.js'
export type { CallHooks, CallHookName, CallHookArgs } from './call-hooks.js'
export { attachHooks, detachHooks, callHooks, callSignal, callTrace, runCallHooks } from './call-hooks.js'
export type { CallSignal } from './call-signal.js'
export { CallAbortController, neverAborted, neverAborts, withUnabortableSignal } from './call-signal.js'
export type { ReplayableBody } from './replayable-body.js'
export { withReplayableBody, getReplayableBody } from './replayable-body.js'
export type { RoundTripErrorOptions } from './errors.js'
export {
  RoundTripError,
  isRoundTripError,
  internalError,
  systemCause,
  ROUND_TRIP_ERROR,
  ERR_BODY_COLLECTED,
  ERR_BODY_USED,
  ERR_INVALID_STATUS,
  ERR_INVALID_RESPONSE,
  ERR_INVALID_MIDDLEWARE,
} from './errors.js'
export { redactUrl, stripFragment } from './url.js'
export { rethrowLater } from './rethrow.js'
export { delay } from './delay.js'
export type { DebugLog } from './debug.js'
export { debugLog, debugOnce } from './debug.js'
