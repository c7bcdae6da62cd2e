import { Readable } from 'node:stream'

/** What a scenario observed: the parts of a response or an error that must match Node's fetch. */
export type Observed = Record<string, unknown>

export interface Origins {
  a: string
  b: string
  refused: string
}

type Fetch = typeof globalThis.fetch

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

function describeError(error: unknown): Observed {
  const e = error as Error & { cause?: unknown }
  return {
    error: e?.constructor?.name,
    name: e?.name,
    message: e?.name === 'AbortError' || e?.name === 'TimeoutError' ? e.message : e instanceof TypeError ? e.message.split(':')[0] : e?.message,
    hasCause: e?.cause !== undefined,
  }
}

/** run runs one scenario with a fetch and describes what came back. */
export async function run(fetch: Fetch, scenario: (fetch: Fetch) => Promise<Response>): Promise<Observed> {
  try {
    return await describe(await scenario(fetch))
  } catch (error) {
    return describeError(error)
  }
}

function stream(parts: string[]): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(parts.map((p) => Buffer.from(p)))) as ReadableStream<Uint8Array>
}

function form(): FormData {
  const f = new FormData()
  f.append('field', 'value')
  f.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt')
  return f
}

/** The scenarios of the differential suite, by name. */
export function scenarios(o: Origins): Record<string, (fetch: Fetch) => Promise<Response>> {
  const post = (body: RequestInit['body'], extra: RequestInit = {}) => (f: Fetch) =>
    f(`${o.a}/echo`, { method: 'POST', body, ...extra } as RequestInit)
  const list: Record<string, (fetch: Fetch) => Promise<Response>> = {
    'GET a string URL': (f) => f(`${o.a}/echo?x=1`),
    'GET a URL object': (f) => f(new URL(`${o.a}/echo?y=2`)),
    'GET a Request': (f) => f(new Request(`${o.a}/echo`, { headers: { 'x-custom': 'from-request' } })),
    'a Request with an init that overrides it': (f) =>
      f(new Request(`${o.a}/echo`, { method: 'PUT', body: 'first' }), { method: 'POST', body: 'second', headers: { 'x-custom': 'init' } }),
    'a fragment in the URL': (f) => f(`${o.a}/echo#section`),
    'POST a string': post('plain'),
    'POST URLSearchParams': post(new URLSearchParams({ a: '1', b: 'x y' })),
    'POST FormData': post(form()),
    'POST a Blob': post(new Blob(['blob'], { type: 'application/x-blob' })),
    'POST an ArrayBuffer': post(new TextEncoder().encode('buffer').buffer as ArrayBuffer),
    'POST a typed array': post(new TextEncoder().encode('typed')),
    'POST a ReadableStream (duplex half)': (f) => post(stream(['a', 'b', 'c']), { duplex: 'half' } as RequestInit)(f),
    'POST a Request carrying a body': (f) => f(new Request(`${o.a}/echo`, { method: 'POST', body: 'in request' })),
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
    '307 with a Request body replays it': (f) => f(new Request(`${o.a}/redirect?status=307`, { method: 'POST', body: 'again' })),
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
