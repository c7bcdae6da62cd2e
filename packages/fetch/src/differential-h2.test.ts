import { createServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transport } from '@roundtrip/transport'
import { FormData as UndiciFormData, Headers as UndiciHeaders, Request as UndiciRequest, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, scenarioHandler, serve, type Origin } from '../test/servers.js'
import { KNOWN_DIFFERENCES, SPEC_OVER_UNDICI7, run, scenarios, type Kit, type Observed } from '../test/scenarios.js'
import { createFetch } from './create-fetch.js'

// The differential scenarios that reach the wire once more (see
// FETCH_LAYER_OR_LARGE for those left out), with createFetch over a Transport
// that speaks HTTP/2 (h2c, prior knowledge) to HTTP/2 mirrors of the
// scenario servers. The reference is still npm undici 7's fetch over
// HTTP/1.1 to the HTTP/1.1 servers: what a user observes must not depend on
// the protocol underneath. The mirrors' ports are written as the HTTP/1.1
// servers' before comparing.

/** Scenarios whose server side or wire has no HTTP/2 counterpart, with the reason. */
const NO_CHUNKED =
  'HTTP/2 has no chunked transfer coding (RFC 9113 §8.2.2): a body of unknown length is sent in DATA frames, and the server cannot refuse it for being chunked'
const LOWER_CASE = 'HTTP/2 field names are lower case on the wire (RFC 9113 §8.2.1): the case written in the request cannot reach the server'
const NOT_OVER_H2: Record<string, string> = {
  'PUT a ReadableStream goes chunked (its length is unknown)': NO_CHUNKED,
  'PUT a ReadableStream whose bytes are all there at once': NO_CHUNKED,
  'header names go out in the case written in an init object': LOWER_CASE,
  'header names written twice go out in the case written first': LOWER_CASE,
  'header names keep their case over a redirect': LOWER_CASE,
  'header names of a one-shot iterable go out in the case written': LOWER_CASE,
  'a status above 599': 'node:http2 refuses to send a status above 599 (ERR_HTTP2_STATUS_INVALID)',
}

let a: Origin
let b: Origin
let a2: Origin
let b2: Origin
const transport = new Transport({ protocols: ['h2c'] })
const reference = undiciFetch as unknown as typeof globalThis.fetch
const undiciKit: Kit = {
  Request: UndiciRequest as unknown as typeof Request,
  FormData: UndiciFormData as unknown as typeof FormData,
  Headers: UndiciHeaders as unknown as typeof Headers,
}

/** listenH2c serves `handler` over h2c, with `host` set from `:authority` as an HTTP/1.1 server would see it. */
async function listenH2c(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Origin> {
  const server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
    req.headers.host = req.authority
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse)
  })
  server.on('sessionError', () => {})
  return serve(server)
}

beforeAll(async () => {
  b = await listen(scenarioHandler(() => a.url))
  a = await listen(scenarioHandler(() => b.url))
  b2 = await listenH2c(scenarioHandler(() => a2.url))
  a2 = await listenH2c(scenarioHandler(() => b2.url))
})

afterAll(async () => {
  await transport.close()
  await Promise.all([a, b, a2, b2].map((o) => o.close()))
})

/**
 * asH1 writes the mirrors' ports as the HTTP/1.1 servers', and drops
 * `statusText`: HTTP/2 has no reason phrase (RFC 9113 §8.3.1), so it is ''
 * over HTTP/2 whatever the client (undici with `allowH2` too).
 */
function asH1(observed: Observed): Observed {
  if ('statusText' in observed) observed = { ...observed, statusText: undefined }
  const text = JSON.stringify(observed).replaceAll(`127.0.0.1:${a2.port}`, `127.0.0.1:${a.port}`).replaceAll(`127.0.0.1:${b2.port}`, `127.0.0.1:${b.port}`)
  return JSON.parse(text) as Observed
}

/**
 * Scenarios whose server cuts the body with `req.socket.destroy()`: over
 * HTTP/2 that resets the stream (NO_ERROR, 50 of 100 bytes sent), not the
 * connection. The body still rejects with `TypeError('terminated')`, but its
 * cause is the stream reset (coded RT_SOCKET_CLOSED, no `cause.code`), not
 * undici's lost-connection `UND_ERR_SOCKET`. (undici's own fetch over
 * HTTP/2 resolves such a body with its 50 bytes.) Compared without the cause code.
 */
const STREAM_RESET_NOT_CONN_LOST = /^a connection lost mid-/

/** withoutCauseCode drops every `causeCode` of an observation (see {@link STREAM_RESET_NOT_CONN_LOST}). */
function withoutCauseCode(observed: Observed): Observed {
  return JSON.parse(JSON.stringify(observed, (key, value: unknown) => (key === 'causeCode' ? undefined : value))) as Observed
}

/**
 * Scenarios left to the HTTP/1.1 suite to keep this one cheap (CI budget):
 * those decided in the fetch layer whatever the wire (URL parsing, data: and
 * blob: URLs, bad ports, integrity, referrer policy, the resource-timing
 * entry), and the large bodies but one (a 3 MiB string stands for them).
 */
const FETCH_LAYER_OR_LARGE =
  /^(integrity|referrerPolicy|Referrer-Policy|no referrer|an empty referrer|a same-origin referrer|a cross-origin referrer|a referrer with|a Request with a referrer|a cross-origin redirect cuts|a blob: URL|a revoked blob: URL|a data: URL|an invalid URL|a relative URL|an unsupported scheme|a bad port|fetch\.name|init\.window other|a resource-timing entry)|MiB (?!string)|17 MiB|Request carrying a 3 MiB/

const names = Object.keys(scenarios({ a: '', b: '', refused: '' })).filter((name) => !FETCH_LAYER_OR_LARGE.test(name))
/** Where createFetch over our Transport differs from undici 7 whatever the protocol (see differences.ts): it must differ here too. */
const differs = (name: string): boolean => {
  const known = KNOWN_DIFFERENCES[name]
  return name in SPEC_OVER_UNDICI7 || (known !== undefined && known.applies !== false && (known.under === 'any' || known.under.includes('Transport')))
}

describe('createFetch(new Transport({ protocols: [h2c] })) behaves as undici 7’s fetch over HTTP/1.1', () => {
  it.each(names.filter((name) => !(name in NOT_OVER_H2)))('%s', async (name) => {
    const gone = await listen(() => {})
    await gone.close()
    const expected = await run(reference, scenarios({ a: a.url, b: b.url, refused: gone.url })[name]!, undiciKit)
    const actual = await run(createFetch(transport), scenarios({ a: a2.url, b: b2.url, refused: gone.url })[name]!)
    const comparable: Observed = { ...expected, ...('statusText' in expected ? { statusText: undefined } : {}) }
    const seen = STREAM_RESET_NOT_CONN_LOST.test(name) ? withoutCauseCode(asH1(actual)) : asH1(actual)
    const wanted = STREAM_RESET_NOT_CONN_LOST.test(name) ? withoutCauseCode(comparable) : comparable
    if (differs(name)) expect(seen).not.toEqual(wanted)
    else expect(seen).toEqual(wanted)
  })
})
