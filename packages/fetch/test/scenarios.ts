import { conformance } from './conformance.js'
import { form, stream, type Fetch, type Observed, type Origins, type Scenario } from './observe.js'

export { run, describeError, globalKit, type Kit, type Observed, type Origins, type Scenario } from './observe.js'
export { KNOWN_DIFFERENCES, NODE20_DIFFERS, SPEC_OVER_UNDICI7, bundledBeforeUndici7 } from './differences.js'

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
  list['response headers are immutable'] = (f) => f(`${o.a}/echo`).then(headerGuard)
  list['response headers are immutable after a redirect'] = (f) => f(`${o.a}/redirect?status=302`).then(headerGuard)
  for (const status of [301, 302, 303, 307, 308]) {
    list[`${status} after POST`] = post('payload', { headers: { 'content-type': 'text/x-payload' } })
    list[`${status} after POST`] = (f) =>
      f(`${o.a}/redirect?status=${status}`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/x-payload' } })
    list[`${status} after GET`] = (f) => f(`${o.a}/redirect?status=${status}`)
    list[`${status} after HEAD`] = (f) => f(`${o.a}/redirect?status=${status}`, { method: 'HEAD' })
    list[`${status} after PUT`] = (f) => f(`${o.a}/redirect?status=${status}`, { method: 'PUT', body: 'put body' })
    // The fetch standard fails any redirect but 303 of a body it cannot send again, even one that turns POST into GET.
    list[`${status} after POST with a ReadableStream body`] = (f) =>
      f(`${o.a}/redirect?status=${status}`, { method: 'POST', body: stream(['s']), duplex: 'half' } as RequestInit)
  }
  return list
}

/**
 * headerGuard tries to change the headers of a fetched response, of its
 * clone, and of a new Response made from them (which may change its own):
 * what each attempt threw, and what the headers hold after.
 */
async function headerGuard(response: Response): Promise<Observed> {
  const tries = (headers: Headers): Record<string, string> => {
    const out: Record<string, string> = {}
    const attempts: Array<[string, () => void]> = [
      ['set', () => headers.set('x-added', '1')],
      ['append', () => headers.append('x-added', '2')],
      ['delete', () => headers.delete('content-type')],
      ['delete absent', () => headers.delete('x-absent')],
    ]
    for (const [name, attempt] of attempts) {
      try {
        attempt()
        out[name] = 'changed'
      } catch (error) {
        out[name] = `${(error as Error).constructor.name}: ${(error as Error).message}`
      }
    }
    return out
  }
  const clone = response.clone()
  const remade = new Response(null, { headers: response.headers })
  const observed = {
    own: tries(response.headers),
    clone: tries(clone.headers),
    remade: tries(remade.headers),
    contentType: response.headers.get('content-type'),
    added: response.headers.get('x-added'),
  }
  await Promise.all([response.arrayBuffer(), clone.arrayBuffer()])
  return observed
}
