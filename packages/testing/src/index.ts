export { MockTransport, type MockTransportOptions, type MockCall } from './mock-transport.js'
export { Interceptor, type InterceptOptions, type ReplyContext, type ReplyFunction } from './interceptor.js'
export type { UrlMatcher, ValueMatcher, HeadersMatcher, QueryMatcher, BodyMatcher, JsonValue } from './matchers.js'
export type { ReplyBody, ReplyInit, ReplySpec } from './reply-body.js'
export {
  TestingError,
  ERR_MOCK_NO_MATCH,
  ERR_MOCK_PENDING,
  ERR_MOCK_INVALID,
  ERR_MOCK_NETWORK_ERROR,
  ERR_RECORDING_MISSING,
  ERR_RECORDING_INVALID,
} from './errors.js'
export { createFaultServer, type FaultServer, type FaultServerOptions, type RecordedRequest } from './fault-server.js'
export type { Fault, ScriptedResponse, InformationalResponse } from './fault-script.js'
export { record, ALWAYS_REDACTED, DEFAULT_RECORDED_REQUEST_HEADERS, REDACTED, type RecordMode, type RecordOptions } from './record.js'
export type { RecordingFile, Exchange, StoredRequest, StoredResponse, StoredBody } from './recording-file.js'
