import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'

/** What a scenario observed: the parts of a response or an error that must match Node's fetch. */
export type Observed = Record<string, unknown>

export interface Origins {
  a: string
  b: string
  refused: string
}

type Fetch = typeof globalThis.fetch

/**
 * The classes a scenario builds its inputs with: npm undici's fetch refuses
 * Node's global `Request` and `FormData` (another copy of the classes), so it
 * gets its own.
 */
export interface Kit {
  Request: typeof Request
  FormData: typeof FormData
}

/** Node's global classes, for Node's fetch and for createFetch. */
export const globalKit: Kit = { Request, FormData }

/** A scenario: one use of fetch, as a user would write it. */
export type Scenario = (fetch: Fetch, kit: Kit) => Promise<Response | Observed>

async function describe(response: Response): Promise<Observed> {
  const text = response.body === null ? null : await response.text()
  let body: unknown = text
  if (text !== null && response.headers.get('content-type') === 'application/json') {
    const echo = JSON.parse(text) as Record<string, unknown>
    // Multipart boundaries are random: compare the shape.
    if (typeof echo.contentType === 'string' && echo.contentType.startsWith('multipart/form-data')) {
      echo.contentType = 'multipart/form-data'
      echo.body = String(echo.body).includes('name="field"') && String(echo.body).includes('file content')
    }
    body = echo
  }
  return {
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    type: response.type,
    url: response.url,
    redirected: response.redirected,
    contentType: response.headers.get('content-type'),
    contentEncoding: response.headers.get('content-encoding'),
    location: response.headers.get('location'),
    setCookie: response.headers.getSetCookie(),
    nullBody: response.body === null,
    body,
  }
}

function isUndiciResponse(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Response]'
}

/**
 * describeError says what code written for Node's fetch looks at: the class,
 * name and message, whether there is a cause and the cause's `code` (our own
 * `RT_*` codes are extra information, not compared).
 */
export function describeError(error: unknown): Observed {
  const e = error as Error & { cause?: unknown }
  const causeCode = (e?.cause as { code?: unknown } | undefined)?.code
  return {
    error: e?.constructor?.name,
    name: e?.name,
    message: e?.name === 'AbortError' || e?.name === 'TimeoutError' ? e.message : e instanceof TypeError ? e.message.split(':')[0] : e?.message,
    hasCause: e?.cause !== undefined,
    causeCode: typeof causeCode === 'string' && !causeCode.startsWith('RT_') ? causeCode : undefined,
  }
}

/** settle describes how a promise settled: its value, or its error. */
async function settle(promise: Promise<unknown>): Promise<Observed> {
  try {
    const value = await promise
    return { value: value instanceof ArrayBuffer ? value.byteLength : value }
  } catch (error) {
    return describeError(error)
  }
}

/** run runs one scenario with a fetch and describes what came back. */
export async function run(fetch: Fetch, scenario: Scenario, kit: Kit = globalKit): Promise<Observed> {
  try {
    const result = await scenario(fetch, kit)
    return result instanceof Response || isUndiciResponse(result) ? await describe(result as Response) : result
  } catch (error) {
    return describeError(error)
  }
}

function stream(parts: string[]): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(parts.map((p) => Buffer.from(p)))) as ReadableStream<Uint8Array>
}

/** A stream whose parts arrive a few milliseconds apart. */
function slowStream(parts: string[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (i < parts.length) controller.enqueue(new TextEncoder().encode(parts[i++]!))
      else controller.close()
    },
  })
}

function form(k: Kit): FormData {
  const f = new k.FormData()
  f.append('field', 'value')
  f.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt')
  return f
}

/**
 * Scenarios where Node 20's bundled fetch and npm undici 7's fetch disagree,
 * with the reason; createFetch follows undici 7 there. `below` says whether
 * the behaviour comes from the RoundTripper underneath (then
 * `createFetch(fromFetch(globalThis.fetch))` shows Node 20's) or from the
 * fetch layer itself.
 */
export const NODE20_DIFFERS: Record<string, { below: boolean; reason: string }> = {
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
 * line).
 */
export const KNOWN_DIFFERENCES: Record<string, { under: 'Transport' | 'any'; reason: string }> = {
  'a connection lost mid-body rejects text() with TypeError terminated': {
    under: 'Transport',
    reason: "the body errors with the Transport's coded RT_SOCKET_CLOSED error, not TypeError('terminated', { cause }): the body is made by the Transport, below the fetch layer",
  },
  'six codings reject': {
    under: 'Transport',
    reason: 'a chain of more than 5 content codings is passed through undecoded instead of rejected (the Transport decoder)',
  },
  'PUT a Request carrying a 20 MiB body with its content-length': {
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

/** The scenarios of the differential suite, by name. */
export function scenarios(o: Origins): Record<string, Scenario> {
  const post = (body: RequestInit['body'], extra: RequestInit = {}) => (f: Fetch) =>
    f(`${o.a}/echo`, { method: 'POST', body, ...extra } as RequestInit)
  const list: Record<string, Scenario> = {
    'GET a string URL': (f) => f(`${o.a}/echo?x=1`),
    'GET a URL object': (f) => f(new URL(`${o.a}/echo?y=2`)),
    'GET a Request': (f, k) => f(new k.Request(`${o.a}/echo`, { headers: { 'x-custom': 'from-request' } })),
    'a Request with an init that overrides it': (f, k) =>
      f(new k.Request(`${o.a}/echo`, { method: 'PUT', body: 'first' }), { method: 'POST', body: 'second', headers: { 'x-custom': 'init' } }),
    'a fragment in the URL': (f) => f(`${o.a}/echo#section`),
    'POST a string': post('plain'),
    'POST URLSearchParams': post(new URLSearchParams({ a: '1', b: 'x y' })),
    'POST FormData': (f, k) => post(form(k))(f),
    'POST a Blob': post(new Blob(['blob'], { type: 'application/x-blob' })),
    'POST an ArrayBuffer': post(new TextEncoder().encode('buffer').buffer as ArrayBuffer),
    'POST a typed array': post(new TextEncoder().encode('typed')),
    'POST a ReadableStream (duplex half)': (f) => post(stream(['a', 'b', 'c']), { duplex: 'half' } as RequestInit)(f),
    'POST a Request carrying a body': (f, k) => f(new k.Request(`${o.a}/echo`, { method: 'POST', body: 'in request' })),
    'HEAD has a null body': (f) => f(`${o.a}/echo`, { method: 'HEAD' }),
    '204 has a null body': (f) => f(`${o.a}/status?code=204`),
    '304 has a null body': (f) => f(`${o.a}/status?code=304`),
    '404 is not an error': (f) => f(`${o.a}/missing`),
    '500 is not an error': (f) => f(`${o.a}/status?code=500`),
    'several set-cookie headers': (f) => f(`${o.a}/cookies`),
    'gzip body decoded': (f) => f(`${o.a}/encoded?coding=gzip`),
    'deflate body decoded': (f) => f(`${o.a}/encoded?coding=deflate`),
    'br body decoded': (f) => f(`${o.a}/encoded?coding=br`),
    'a data: URL': (f) => f('data:text/plain;charset=utf-8,hello%20data'),
    'redirect without location is returned': (f) => f(`${o.a}/no-location`),
    'redirect: manual returns the 3xx': (f) => f(`${o.a}/redirect?status=302`, { redirect: 'manual' }),
    'redirect: error rejects': (f) => f(`${o.a}/redirect?status=302`, { redirect: 'error' }),
    'a redirect loop rejects after 20': (f) => f(`${o.a}/loop`),
    'a redirect to another scheme rejects': (f) => f(`${o.a}/bad-scheme`),
    'cross-origin redirect drops credentials': (f) =>
      f(`${o.a}/redirect?to=other`, { headers: { authorization: 'Bearer x', cookie: 'c=1', 'x-custom': 'kept' } }),
    'same-origin redirect keeps credentials': (f) =>
      f(`${o.a}/redirect?to=/echo`, { headers: { authorization: 'Bearer x', cookie: 'c=1' } }),
    '307 with a ReadableStream body rejects': (f) =>
      f(`${o.a}/redirect?status=307`, { method: 'POST', body: stream(['s']), duplex: 'half' } as RequestInit),
    '307 with a Request body replays it': (f, k) => f(new k.Request(`${o.a}/redirect?status=307`, { method: 'POST', body: 'again' })),
    'connection refused': (f) => f(`${o.refused}/`),
    'an invalid URL': (f) => f('http://exa mple.test/'),
    'a relative URL': (f) => f('/relative'),
    'an unsupported scheme': (f) => f('ftp://127.0.0.1/'),
    'an invalid header name': (f) => f(`${o.a}/echo`, { headers: { 'bad header': 'x' } }),
    'an invalid header value': (f) => f(`${o.a}/echo`, { headers: { 'x-bad': 'a\nb' } }),
    'an already aborted signal': (f) => f(`${o.a}/echo`, { signal: AbortSignal.abort() }),
    'an abort reason is passed through': (f) => f(`${o.a}/echo`, { signal: AbortSignal.abort(new RangeError('mine')) }),
    'a timeout while waiting for the head': (f) => f(`${o.a}/hang`, { signal: AbortSignal.timeout(50) }),
    'an abort while reading the body': async (f) => {
      const controller = new AbortController()
      const response = await f(`${o.a}/slow`, { signal: controller.signal })
      const text = response.text()
      controller.abort()
      await text
      return response
    },
  }
  Object.assign(list, conformance(o))
  for (const status of [301, 302, 303, 307, 308]) {
    list[`${status} after POST`] = post('payload', { headers: { 'content-type': 'text/x-payload' } })
    list[`${status} after POST`] = (f) =>
      f(`${o.a}/redirect?status=${status}`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/x-payload' } })
    list[`${status} after GET`] = (f) => f(`${o.a}/redirect?status=${status}`)
    list[`${status} after HEAD`] = (f) => f(`${o.a}/redirect?status=${status}`, { method: 'HEAD' })
    list[`${status} after PUT`] = (f) => f(`${o.a}/redirect?status=${status}`, { method: 'PUT', body: 'put body' })
  }
  return list
}

const MiB = 1024 * 1024

/** A scenario on a fresh object URL for a small text Blob, revoked afterwards. */
function blobUrl(use: (fetch: Fetch, url: string) => Promise<Response>): Scenario {
  return async (f) => {
    const url = URL.createObjectURL(new Blob(['0123456789abcdef'], { type: 'text/plain' }))
    try {
      // The url differs between runs: compare it by shape.
      const response = await use(f, url)
      const observed = await describe(response)
      return { ...observed, url: observed.url === url ? 'the blob: URL' : observed.url, contentLength: response.headers.get('content-length'), contentRange: response.headers.get('content-range') }
    } finally {
      URL.revokeObjectURL(url)
    }
  }
}

/** Scenarios of issue 11: where undici 7's fetch is the bar. */
function conformance(o: Origins): Record<string, Scenario> {
  const put = (body: (k: Kit) => RequestInit['body']): Scenario => (f, k) => f(`${o.a}/length-required`, { method: 'PUT', body: body(k) } as RequestInit)
  return {
    // Content-Length from the source, whatever the size: a server answering 411 to chunked accepts them.
    'PUT a 3 MiB string with its content-length': put(() => 'x'.repeat(3 * MiB)),
    'PUT 3 MiB of bytes with their content-length': put(() => new Uint8Array(3 * MiB)),
    'PUT a 3 MiB ArrayBuffer with its content-length': put(() => new ArrayBuffer(3 * MiB)),
    'PUT a 3 MiB Blob with its content-length': put(() => new Blob([new Uint8Array(3 * MiB)])),
    'PUT 2 MiB of URLSearchParams with their content-length': put(() => new URLSearchParams({ q: 'y'.repeat(2 * MiB) })),
    'PUT a FormData with a 2 MiB file with its content-length': put((k) => {
      const form = new k.FormData()
      form.append('field', 'value')
      form.append('file', new Blob([new Uint8Array(2 * MiB)]), 'big.bin')
      return form
    }),
    'PUT an empty string with content-length 0': put(() => ''),
    'PUT a Request carrying a 3 MiB string with its content-length': (f, k) =>
      f(new k.Request(`${o.a}/length-required`, { method: 'PUT', body: 'r'.repeat(3 * MiB) })),
    'PUT a Request carrying a Blob with its content-length': (f, k) =>
      f(new k.Request(`${o.a}/length-required`, { method: 'PUT', body: new Blob(['blob in a request']) })),
    'PUT a Request carrying a FormData with its content-length': (f, k) => {
      const form = new k.FormData()
      form.append('file', new Blob(['in a request']), 'r.txt')
      return f(new k.Request(`${o.a}/length-required`, { method: 'PUT', body: form }))
    },
    'PUT a Request carrying a 20 MiB body with its content-length': (f, k) =>
      f(new k.Request(`${o.a}/length-required`, { method: 'PUT', body: new Uint8Array(20 * MiB) })),
    'POST a Request carrying a ReadableStream that arrives over time': (f, k) =>
      f(new k.Request(`${o.a}/echo`, { method: 'POST', body: slowStream(['one;', 'two;', 'three']), duplex: 'half' } as RequestInit)),
    '307 with a Request carrying a ReadableStream rejects': (f, k) =>
      f(new k.Request(`${o.a}/redirect?status=307`, { method: 'POST', body: slowStream(['s']), duplex: 'half' } as RequestInit)),
    'an already aborted signal with a Request carrying a body': (f, k) =>
      f(new k.Request(`${o.a}/echo`, { method: 'POST', body: 'x', signal: AbortSignal.abort() })),
    'PUT a ReadableStream goes chunked (its length is unknown)': (f) =>
      f(`${o.a}/length-required`, { method: 'PUT', body: stream(['a', 'b']), duplex: 'half' } as RequestInit),
    // Error shapes code checks.
    'connection refused has cause.code ECONNREFUSED': (f) => f(`${o.refused}/`),
    'an unknown host has cause.code ENOTFOUND': (f) => f('http://no-such-host.invalid/'),
    'a connection reset has cause.code ECONNRESET': (f) => f(`${o.a}/reset`),
    'a connection lost mid-body rejects text() with TypeError terminated': async (f) => {
      const response = await f(`${o.a}/cut`)
      return settle(response.text())
    },
    // Aborts during the body.
    'an abort while reading the body rejects a clone too': async (f) => {
      const controller = new AbortController()
      const response = await f(`${o.a}/slow`, { signal: controller.signal })
      const clone = response.clone()
      const reads = [settle(response.text()), settle(clone.arrayBuffer())]
      controller.abort()
      return { reads: await Promise.all(reads), bodyUsed: response.bodyUsed, cloneUsed: clone.bodyUsed }
    },
    'an abort rejects a pending stream read with the reason': async (f) => {
      const controller = new AbortController()
      const response = await f(`${o.a}/slow`, { signal: controller.signal })
      const reader = response.body!.getReader()
      await reader.read()
      const next = settle(reader.read())
      controller.abort(new RangeError('stop'))
      return { read: await next, bodyUsed: response.bodyUsed }
    },
    'an abort after the response, before any read, rejects json()': async (f) => {
      const controller = new AbortController()
      const response = await f(`${o.a}/slow`, { signal: controller.signal })
      controller.abort()
      return { read: await settle(response.json()), bodyUsed: response.bodyUsed }
    },
    'an already aborted signal cancels a ReadableStream body with the reason': async (f) => {
      let cancelled: unknown
      const body = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1)), cancel: (reason) => void (cancelled = reason) })
      const reason = new RangeError('early')
      const outcome = await settle(f(`${o.a}/echo`, { method: 'POST', body, duplex: 'half', signal: AbortSignal.abort(reason) } as RequestInit))
      return { outcome, cancelledWithReason: cancelled === reason }
    },
    'a locked ReadableStream body rejects with TypeError': (f) => {
      const body = stream(['x'])
      body.getReader()
      return f(`${o.a}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    },
    'a disturbed ReadableStream body rejects with TypeError': async (f) => {
      const body = stream(['x', 'y'])
      const reader = body.getReader()
      await reader.read()
      reader.releaseLock()
      return f(`${o.a}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    },
    // Redirects.
    "redirect: 'error' has cause.message 'unexpected redirect'": (f) =>
      f(`${o.a}/redirect?status=301`, { redirect: 'error' }).then(
        () => ({ resolved: true }),
        (error: Error) => ({ ...describeError(error), causeMessage: (error.cause as Error).message }),
      ),
    'a redirect to a URL with credentials is a network error': (f) => f(`${o.a}/credentials`),
    'a Location with raw UTF-8 bytes is read as UTF-8': (f) => f(`${o.a}/non-ascii-location`),
    // Ports, headers, init members, the function itself.
    'a bad port fails before dialing': (f) => f('http://127.0.0.1:6666/'),
    'a bad port reached by a redirect fails': (f) => f(`${o.a}/redirect?to=${encodeURIComponent('http://127.0.0.1:10080/')}`),
    'a user Host header is not sent': (f) => f(`${o.a}/echo`, { headers: { host: 'evil.test', 'x-custom': 'h' } }),
    'init.window other than null rejects with TypeError': (f) => f(`${o.a}/echo`, { window: 1 } as unknown as RequestInit),
    'init.window null and a 407 rejects': (f) => f(`${o.a}/proxy-auth`, { window: null }),
    'a 407 rejects': (f) => f(`${o.a}/proxy-auth`),
    'fetch.name and fetch.length': async (f) => ({ name: f.name, length: f.length }),
    // Subresource integrity, on the body of /echo?x=1 (its text is the same for every fetch).
    ...integrityScenarios(o),
    // Referrer and Referrer Policy.
    ...referrerScenarios(o),
    // blob: URLs made with URL.createObjectURL.
    'a blob: URL': blobUrl((f, url) => f(url)),
    'a blob: URL with a fragment': blobUrl((f, url) => f(`${url}#part`)),
    'a blob: URL with a Range answers 206 with the inclusive range': blobUrl((f, url) => f(url, { headers: { range: 'bytes=2-5' } })),
    'a blob: URL with a Range past its end fails': blobUrl((f, url) => f(url, { headers: { range: 'bytes=20-30' } })),
    'a blob: URL with POST fails': blobUrl((f, url) => f(url, { method: 'POST', body: 'x' })),
    'a revoked blob: URL fails': async (f) => {
      const url = URL.createObjectURL(new Blob(['gone']))
      URL.revokeObjectURL(url)
      return f(url)
    },
    // Content codings.
    'gzip then br decoded': (f) => f(`${o.a}/coded?codings=gzip,br`),
    'five codings decoded': (f) => f(`${o.a}/coded?codings=gzip,gzip,deflate,gzip,br`),
    'six codings reject': async (f) => {
      const response = await f(`${o.a}/coded?codings=gzip,gzip,gzip,gzip,gzip,gzip`)
      return settle(response.text())
    },
    'an unknown coding leaves the body as is': (f) => f(`${o.a}/coded?codings=x-unknown`),
  }
}

function integrityScenarios(o: Origins): Record<string, Scenario> {
  const url = `${o.a}/cookies`
  const text = 'cookies'
  const hash = (algorithm: string): string => createHash(algorithm).update(text).digest('base64')
  const wrong = 'A'.repeat(43) + '='
  const cases: Record<string, () => string> = {
    sha256: () => `sha256-${hash('sha256')}`,
    sha384: () => `sha384-${hash('sha384')}`,
    sha512: () => `sha512-${hash('sha512')}`,
    'a mismatch rejects': () => `sha256-${wrong}`,
    'the strongest algorithm wins (it matches)': () => `sha256-${wrong} sha512-${hash('sha512')}`,
    'the strongest algorithm wins (it does not match)': () => `sha256-${hash('sha256')} sha512-${wrong}`,
    'any token of the strongest algorithm may match': () => `sha384-${wrong} sha384-${hash('sha384')}`,
    base64url: () => `sha256-${hash('sha256').replace(/\+/g, '-').replace(/\//g, '_')}`,
    'without padding': () => `sha384-${hash('sha384').replace(/=+$/, '')}`,
    'options after ?': () => `sha512-${hash('sha512')}?ct=text/plain`,
    'an upper-case algorithm': () => `SHA256-${hash('sha256')}`,
    'empty metadata passes': () => '',
    'unparseable metadata passes': () => 'not-a-hash md5-abc',
    'an unknown algorithm with a bad known one rejects': () => `md5-abc sha256-${wrong}`,
  }
  const list: Record<string, Scenario> = {}
  for (const [name, integrity] of Object.entries(cases)) list[`integrity: ${name}`] = (f) => f(url, { integrity: integrity() })
  list['integrity on a Request'] = (f, k) => f(new k.Request(url, { integrity: `sha256-${wrong}` }))
  list['integrity after a redirect checks the final body'] = (f) =>
    f(`${o.a}/redirect?to=/cookies`, { integrity: `sha256-${hash('sha256')}` })
  return list
}

function referrerScenarios(o: Origins): Record<string, Scenario> {
  const page = `${o.a}/page?q=1#frag`
  const list: Record<string, Scenario> = {
    'no referrer by default': (f) => f(`${o.a}/echo`),
    'an empty referrer sends none': (f) => f(`${o.a}/echo`, { referrer: '' }),
    'a same-origin referrer is sent whole, without its fragment': (f) => f(`${o.a}/echo`, { referrer: page }),
    'a cross-origin referrer is cut to its origin by default': (f) => f(`${o.a}/echo`, { referrer: 'http://other.test/page?q=1' }),
    'a referrer with credentials never sends them': (f) => f(`${o.a}/echo`, { referrer: 'http://u:p@other.test/page#x', referrerPolicy: 'unsafe-url' }),
    'a Request with a referrer': (f, k) => f(new k.Request(`${o.a}/echo`, { referrer: page, referrerPolicy: 'origin' })),
    'a cross-origin redirect cuts the referrer to its origin': (f) => f(`${o.a}/redirect?to=other`, { referrer: page }),
  }
  for (const policy of ['no-referrer', 'origin', 'unsafe-url', 'same-origin', 'strict-origin', 'origin-when-cross-origin', 'no-referrer-when-downgrade']) {
    list[`referrerPolicy ${policy}, same origin`] = (f) => f(`${o.a}/echo`, { referrer: page, referrerPolicy: policy as NonNullable<RequestInit['referrerPolicy']> })
    list[`referrerPolicy ${policy}, cross origin`] = (f) =>
      f(`${o.a}/echo`, { referrer: 'https://secure.test/page?q=1', referrerPolicy: policy as NonNullable<RequestInit['referrerPolicy']> })
  }
  for (const header of ['no-referrer', 'origin', 'unsafe-url, bogus', 'no-referrer, unsafe-url', 'unsafe-url,,', 'same-origin', '']) {
    list[`Referrer-Policy ${JSON.stringify(header)} on a redirect`] = (f) =>
      f(`${o.a}/redirect?to=other&policy=${encodeURIComponent(header)}`, { referrer: page, referrerPolicy: 'unsafe-url' })
  }
  return list
}
