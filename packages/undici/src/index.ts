export { fromDispatcher, responseTrailers } from './from-dispatcher.js'
export type { DispatcherRoundTripper } from './from-dispatcher.js'
export { toDispatcher, RoundTripperDispatcher } from './to-dispatcher.js'
export type { ToDispatcherOptions } from './to-dispatcher.js'
export { install, uninstall, globalDispatcher } from './global.js'
export type { InstallOptions } from './global.js'
export {
  BridgeError,
  ERR_UPGRADE_UNSUPPORTED,
  ERR_INVALID_DISPATCH,
  ERR_DISPATCHER_CLOSED,
  ERR_INVALID_ARGUMENT,
} from './errors.js'
