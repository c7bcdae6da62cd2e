import zlib from 'node:zlib'

/** Whether Node's bundled fetch is older than undici 7 (Node 20 and 22 bundle undici 6; Node 24 undici 7). */
export const bundledBeforeUndici7 = Number((process.versions as { undici?: string }).undici?.split('.')[0] ?? 0) < 7
/** Where the implementations of the differential suite are known to differ, and why. */

/**
 * Scenarios where Node 20's bundled fetch and npm undici 7's fetch disagree,
 * with the reason; createFetch follows undici 7 there. `below` says whether
 * the behaviour comes from the RoundTripper underneath (then
 * `createFetch(fromFetch(globalThis.fetch))` shows Node 20's) or from the
 * fetch layer itself. `applies: false` leaves an entry out on this Node (the
 * scenario is the same there).
 */
export const NODE20_DIFFERS: Record<string, { below: boolean; reason: string; applies?: boolean }> = {
  ...Object.fromEntries(
    [
      'referrerPolicy no-referrer, same origin',
      'referrerPolicy no-referrer, cross origin',
      'Referrer-Policy "no-referrer" on a redirect',
      'referrerPolicy no-referrer-when-downgrade, same origin',
      'referrerPolicy no-referrer-when-downgrade, cross origin',
    ].map((name) => [
      name,
      { below: false, reason: "Node 20 sends the referrer's origin under no-referrer and no-referrer-when-downgrade; undici 7 follows the Referrer Policy spec" },
    ]),
  ),
  'integrity: options after ?': {
    below: false,
    reason: "Node 20 fails on metadata options ('sha512-…?ct=…': \"Cannot read properties of undefined\"); undici 7 ignores them, as the SRI spec says",
  },
  'a blob: URL with a Range answers 206 with the inclusive range': {
    below: false,
    reason: "Node 20 answers 'bytes=2-5' with 3 bytes (an off-by-one); undici 7 with the 4 bytes of the inclusive range, as the fetch standard says",
  },
  'zstd decoded where Node has it': {
    below: true,
    reason: "Node 22's fetch (undici 6) passes a zstd body through as sent though its zlib has zstd; undici 7 (Node 24's fetch) decodes it. Without zstd in zlib (Node 20) the server sends the text as is",
    applies: typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function',
  },
  'an abort after the response, before any read, rejects json()': {
    below: true,
    reason:
      "Node 20 rejects with 'The operation was aborted.' and leaves bodyUsed false; undici 7 errors the body stream with the signal's reason ('This operation was aborted') and reports bodyUsed true",
  },
}

/**
 * Scenarios where createFetch does not match undici 7 yet, with the reason
 * and under which RoundTrippers ('Transport': over our Transport only;
 * 'any': whatever is underneath). The suite expects them to differ, so that
 * a fix shows up as a failure asking to remove the entry (and the README
 * line). `applies: false` leaves an entry out on this Node.
 */
export const KNOWN_DIFFERENCES: Record<string, { under: Array<'Transport' | 'fromFetch' | 'fromFetch(undici.fetch)'> | 'any'; reason: string; applies?: boolean }> = {
  ...Object.fromEntries(
    ['header names of a Headers object go out in the case written', 'header names of a Request go out in the case written'].map((name) => [
      name,
      {
        under: ['Transport', 'fromFetch(undici.fetch)'],
        reason:
          "Node's Headers (a Request's too) keeps the case its names were written in out of reach: createFetch sends the case of names written in init.headers (an object or pairs), and lower case for the others",
      },
    ]),
  ),
  ...Object.fromEntries(
    ['a resource-timing entry counts a redirect', 'a resource-timing entry for a redirect that fails'].map((name) => [
      name,
      {
        under: ['fromFetch'],
        reason:
          'the fetch underneath adds an entry of its own for each hop it sees (redirects are followed above it, so it counts none, and the first hop\'s body, cancelled by createFetch, has one)',
      },
    ]),
  ),
  ...Object.fromEntries(
    ['a Range request asks for the identity coding', "a Range request adds identity to the caller's accept-encoding"].map((name) => [
      name,
      {
        under: ['fromFetch'],
        reason: "createFetch appends identity to accept-encoding for a Range request, as the fetch standard says, and the fetch underneath appends it once more ('identity, identity')",
      },
    ]),
  ),
  "cache: 'force-cache' adds nothing": {
    under: ['fromFetch(undici.fetch)'],
    reason: "fromFetch hands npm undici's fetch a request without the cache mode: it sees 'default' with a conditional header and adds pragma and cache-control",
  },
  'a status above 599': {
    under: ['Transport'],
    reason:
      "a WHATWG Response cannot be made with a status outside 200–599 (core's createResponse): createFetch over the Transport rejects with TypeError('fetch failed'), cause RT_INVALID_STATUS, where Node's fetch, which builds its Response from the inside, returns it",
  },
  'a truncated gzip body': {
    under: ['Transport'],
    reason:
      "the Transport's decoders must reach the coding's end marker, as Go's (unexpected EOF): the read rejects with TypeError('terminated') (cause Z_BUF_ERROR, RT_DECODING_ERROR), where Node's fetch returns what it decoded as the whole body",
  },
  'an unsolicited 100 Continue before the response': {
    under: ['Transport'],
    reason: "the Transport skips a 1xx before the final response, asked for or not (RFC 9110 §15.2); Node's fetch fails on a 100 it did not ask for (UND_ERR_SOCKET 'bad response')",
  },
  'a response header value with trailing spaces': {
    under: ['Transport'],
    reason: "the Transport leaves out a field value's trailing whitespace, which RFC 9112 §5 says is not part of it; Node's fetch keeps it",
  },
  'response.body after text() is locked': {
    under: ['Transport'],
    reason: "core's lazy body: after text(), json(), … response.body is an ended stream, not locked, where Node's is locked (getReader() throws)",
  },
  ...Object.fromEntries(
    ['a transfer-encoding request header', 'a connection: upgrade request header', 'an expect: 100-continue request header'].map((name) => [
      name,
      {
        under: ['Transport'],
        reason:
          "the Transport owns the connection: it drops a request's hop-by-hop headers (connection but close, keep-alive, transfer-encoding, upgrade, expect, te) and sends the request, where Node's fetch rejects it (UND_ERR_INVALID_ARG; UND_ERR_NOT_SUPPORTED for expect)",
        // On Node 24 the reference (undici 7's fetch) sends the request without it too, as the Transport does; under Node 20 and 22 it rejects it.
        applies: name !== 'a connection: upgrade request header' || bundledBeforeUndici7,
      },
    ]),
  ),
  'gzip then identity decoded': {
    under: ['Transport'],
    reason: "the Transport decodes a chain that lists identity (a no-op coding, RFC 9110 §8.4.1) around a coding it knows; Node's fetch gives up on the chain and returns the body as sent",
  },
  'a content-length request header that does not match the body': {
    under: ['Transport'],
    reason:
      "createFetch knows the body's length from its source and sends it in place of the caller's content-length; Node's fetch sends the caller's and fails when the body does not match (UND_ERR_REQ_CONTENT_LENGTH_MISMATCH)",
  },
  'PUT a Request carrying a 17 MiB body with its content-length': {
    under: 'any',
    reason: "a Request hides its body's source: createFetch reads up to 16 MiB ahead to learn the length; a larger body goes chunked",
  },
}

/**
 * Scenarios where undici 7's fetch departs from the spec it implements and
 * createFetch follows the spec, with the reason. The suite expects a
 * difference there.
 */
export const SPEC_OVER_UNDICI7: Record<string, string> = {
  'referrerPolicy same-origin, same origin':
    "undici 7 compares the request object, not its URL, with the referrer, so no request is same-origin: 'same-origin' never sends a referrer; the Referrer Policy spec sends the full URL",
  'referrerPolicy origin-when-cross-origin, same origin':
    "undici 7 never sees a request as same-origin (as above) and sends the origin only; the Referrer Policy spec sends the full URL",
  'a Request with a referrer':
    "undici 7 drops the referrer of a Request passed without init; the fetch standard (and Node 20) keep it and apply its policy",
}
