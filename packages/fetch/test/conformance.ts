import { createHash } from 'node:crypto'
import { PerformanceObserver } from 'node:perf_hooks'
import { describe, describeError, settle, slowStream, stream, type Fetch, type Kit, type Observed, type Origins, type Scenario } from './observe.js'

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
export function conformance(o: Origins): Record<string, Scenario> {
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
    'PUT a Request carrying a 17 MiB body with its content-length': (f, k) =>
      f(new k.Request(`${o.a}/length-required`, { method: 'PUT', body: new Uint8Array(17 * MiB) })),
    'POST a Request carrying a ReadableStream that arrives over time': (f, k) =>
      f(new k.Request(`${o.a}/echo`, { method: 'POST', body: slowStream(['one;', 'two;', 'three']), duplex: 'half' } as RequestInit)),
    '307 with a Request carrying a ReadableStream rejects': (f, k) =>
      f(new k.Request(`${o.a}/redirect?status=307`, { method: 'POST', body: slowStream(['s']), duplex: 'half' } as RequestInit)),
    'an already aborted signal with a Request carrying a body': (f, k) =>
      f(new k.Request(`${o.a}/echo`, { method: 'POST', body: 'x', signal: AbortSignal.abort() })),
    'PUT a ReadableStream goes chunked (its length is unknown)': (f) =>
      f(`${o.a}/length-required`, { method: 'PUT', body: slowStream(['a', 'b']), duplex: 'half' } as RequestInit),
    'PUT a ReadableStream whose bytes are all there at once': (f) =>
      f(`${o.a}/length-required`, { method: 'PUT', body: stream(['a', 'b']), duplex: 'half' } as RequestInit),
    // Error shapes code checks.
    'connection refused has cause.code ECONNREFUSED': (f) => f(`${o.refused}/`),
    'an unknown host has cause.code ENOTFOUND': (f) => f('http://no-such-host.invalid/'),
    'a connection reset has cause.code ECONNRESET': (f) => f(`${o.a}/reset`),
    'a connection lost mid-body rejects text() with TypeError terminated': async (f) => {
      const response = await f(`${o.a}/cut`)
      return settle(response.text())
    },
    'a connection lost mid-body rejects a stream read with TypeError terminated': async (f) => {
      const response = await f(`${o.a}/cut`)
      const reader = response.body!.getReader()
      for (;;) {
        const read = await settle(reader.read())
        if ((read.value as { done?: boolean } | undefined)?.done !== false) return read
      }
    },
    'a connection lost mid-body rejects the reads of a clone too': async (f) => {
      const response = await f(`${o.a}/cut`)
      const clone = response.clone()
      return { reads: await Promise.all([settle(response.arrayBuffer()), settle(clone.text())]) }
    },
    'a connection lost mid-gzip-body rejects text() with TypeError terminated': async (f) => {
      const response = await f(`${o.a}/cut?coding=gzip`)
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
    'a ReadableStream body that fails rejects with its error as the cause': async (f) => {
      const broken = new RangeError('the source broke')
      const body = new ReadableStream({ pull: (c) => c.error(broken) })
      return f(`${o.a}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit).then(
        () => ({ resolved: true }),
        (error: Error) => ({ ...describeError(error), causeIsTheSourceError: error.cause === broken }),
      )
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
    'a Location that is not a URL is a network error caused by the URL parser': (f) => f(`${o.a}/bad-location`),
    'a Location with raw UTF-8 bytes is read as UTF-8': (f) => f(`${o.a}/non-ascii-location`),
    // Ports, headers, init members, the function itself.
    'a bad port fails before dialing': (f) => f('http://127.0.0.1:6666/'),
    'a bad port reached by a redirect fails': (f) => f(`${o.a}/redirect?to=${encodeURIComponent('http://127.0.0.1:10080/')}`),
    'header names go out in the case written in an init object': (f) =>
      f(`${o.a}/raw-headers`, { method: 'POST', body: 'b', headers: { 'X-CaSe': 'v', 'x-lower': 'l', 'Content-Type': 'text/x', Accept: 'a/b', 'User-Agent': 'UA' } }),
    'header names written twice go out in the case written first': (f) =>
      f(`${o.a}/raw-headers`, { headers: [['X-Pair', '1'], ['x-PAIR', '2'], ['x-low', '1'], ['X-LOW', '2']] }),
    'header names of a one-shot iterable go out in the case written': (f) =>
      f(`${o.a}/raw-headers`, { headers: (function* () { yield ['X-Once', '1']; yield ['x-ONCE-too', '2'] })() as unknown as string[][] }),
    'header names keep their case over a redirect': (f) => f(`${o.a}/redirect?to=/raw-headers`, { headers: { 'X-CaSe': 'v' } }),
    'header names of a Headers object go out in the case written': (f, k) =>
      f(`${o.a}/raw-headers`, { headers: new k.Headers({ 'X-From-Headers': 'h' }) }),
    'header names of a Request go out in the case written': (f, k) => f(new k.Request(`${o.a}/raw-headers`, { headers: { 'X-In-Request': 'r' } })),
    'init.headers a number rejects with TypeError': (f) => f(`${o.a}/echo`, { headers: 5 } as unknown as RequestInit),
    'init.headers a string rejects with TypeError': (f) => f(`${o.a}/echo`, { headers: 'x-a: 1' } as unknown as RequestInit),
    'init.headers null rejects with TypeError': (f) => f(`${o.a}/echo`, { headers: null } as unknown as RequestInit),
    'a header value with a control character fails the fetch': (f) => f(`${o.a}/echo`, { headers: { 'x-control': 'a\u0001b' } }),
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
    // Resource timing.
    ...timingScenarios(o),
    // The headers the fetch standard's HTTP-network-or-cache fetch adds (cache mode, conditional requests, Range).
    ...cacheScenarios(o),
    // Known differences (KNOWN_DIFFERENCES): what Node's fetch does where createFetch does otherwise.
    'a status above 599': (f) => f(`${o.a}/status?code=600`),
    'a truncated gzip body': async (f) => {
      const response = await f(`${o.a}/truncated-gzip`)
      return settle(response.text())
    },
    'an unsolicited 100 Continue before the response': (f) => f(`${o.a}/unsolicited-continue`),
    'a response header value with trailing spaces': async (f) => {
      const response = await f(`${o.a}/padded-header`)
      return { value: JSON.stringify(response.headers.get('x-padded')), body: await response.text() }
    },
    'response.body after text() is locked': async (f) => {
      const response = await f(`${o.a}/cookies`)
      await response.text()
      return { locked: response.body?.locked }
    },
    'a transfer-encoding request header': (f) => f(`${o.a}/echo`, { method: 'POST', body: 'x', headers: { 'transfer-encoding': 'chunked' } }),
    'a connection: upgrade request header': (f) => f(`${o.a}/echo`, { headers: { connection: 'upgrade' } }),
    'an expect: 100-continue request header': (f) => f(`${o.a}/echo`, { method: 'POST', body: 'x', headers: { expect: '100-continue' } }),
    'a content-length request header that does not match the body': (f) =>
      f(`${o.a}/echo`, { method: 'POST', body: 'abc', headers: { 'content-length': '10' } }),
    // Content codings.
    'gzip then br decoded': (f) => f(`${o.a}/coded?codings=gzip,br`),
    'five codings decoded': (f) => f(`${o.a}/coded?codings=gzip,gzip,deflate,gzip,br`),
    'six codings reject': async (f) => {
      const response = await f(`${o.a}/coded?codings=gzip,gzip,gzip,gzip,gzip,gzip`)
      return settle(response.text())
    },
    'an unknown coding leaves the body as is': (f) => f(`${o.a}/coded?codings=x-unknown`),
    // Decoded where Node's zlib has zstd (Node 24's fetch does), left as is before (Node 20's fetch leaves it).
    'zstd decoded where Node has it': (f) => f(`${o.a}/coded?codings=zstd`),
    'gzip then identity decoded': (f) => f(`${o.a}/coded?codings=gzip,identity`),
  }
}

function cacheScenarios(o: Origins): Record<string, Scenario> {
  const url = `${o.a}/cache-headers`
  // RequestInit's types (Node's) lack `cache`.
  const get = (init: RequestInit & { cache?: string }): Scenario => (f) => f(url, init as RequestInit)
  return {
    "cache: 'no-store' sends pragma and cache-control no-cache": get({ cache: 'no-store' }),
    "cache: 'reload' sends pragma and cache-control no-cache": get({ cache: 'reload' }),
    "cache: 'no-cache' sends cache-control max-age=0": get({ cache: 'no-cache' }),
    "cache: 'no-cache' keeps the caller's cache-control": get({ cache: 'no-cache', headers: { 'cache-control': 'max-age=5' } }),
    "cache: 'no-store' keeps the caller's pragma": get({ cache: 'no-store', headers: { pragma: 'mine' } }),
    "cache: 'force-cache' adds nothing": get({ cache: 'force-cache', headers: { 'if-none-match': '"e"' } }),
    'a conditional request header sends pragma and cache-control no-cache': get({ headers: { 'if-none-match': '"e"' } }),
    'an if-modified-since with a cache-control of the caller adds pragma only': get({ headers: { 'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT', 'cache-control': 'max-age=5' } }),
    'a Range request asks for the identity coding': get({ headers: { range: 'bytes=0-1' } }),
    "a Range request adds identity to the caller's accept-encoding": get({ headers: { range: 'bytes=0-1', 'accept-encoding': 'gzip' } }),
    "a Request with cache: 'no-store'": (f, k) => f(new k.Request(url, { cache: 'no-store' } as RequestInit)),
    "cache: 'no-store' over a redirect": (f) => f(`${o.a}/redirect?to=/cache-headers`, { cache: 'no-store' } as RequestInit),
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

/** The fields of a `PerformanceResourceTiming` entry the scenarios read (Node 20's types lack some). */
type PerformanceResourceTiming = Record<
  'startTime' | 'duration' | 'fetchStart' | 'connectStart' | 'requestStart' | 'responseStart' | 'responseEnd' | 'redirectStart' | 'redirectEnd' | 'transferSize' | 'encodedBodySize' | 'decodedBodySize',
  number
> & { name: string; initiatorType: string }

/** What a scenario compares of the resource-timing entries a fetch added: their number and how their fields relate. */
function describeEntries(entries: PerformanceResourceTiming[]): Observed {
  const e = entries[0]
  if (e === undefined) return { entries: 0 }
  return {
    entries: entries.length,
    initiatorType: e.initiatorType,
    decodedBodySize: e.decodedBodySize,
    encodedBelowDecoded: e.encodedBodySize > 0 && e.encodedBodySize < e.decodedBodySize,
    transferSize: e.transferSize === e.encodedBodySize + 300,
    inOrder:
      e.startTime > 0 &&
      e.startTime <= e.fetchStart &&
      e.fetchStart <= e.connectStart &&
      e.connectStart <= e.requestStart &&
      e.requestStart <= e.responseStart &&
      e.responseStart <= e.responseEnd &&
      e.duration === e.responseEnd - e.startTime,
    redirect: e.redirectStart === 0 ? 'none' : e.redirectStart === e.startTime && e.redirectStart <= e.redirectEnd && e.redirectEnd === e.fetchStart ? 'counted' : 'out of order',
  }
}

/** resourceEntryAdded resolves once a resource-timing entry named `name` has been added. */
function resourceEntryAdded(name: string): Promise<void> {
  return new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      if (list.getEntriesByName(name).length === 0) return
      observer.disconnect()
      resolve()
    })
    observer.observe({ type: 'resource' })
  })
}

function timingScenarios(o: Origins): Record<string, Scenario> {
  const timing =
    (path: string, use: (f: Fetch, url: string) => Promise<unknown>): Scenario =>
    async (f) => {
      const url = `${path.startsWith('http') ? '' : o.a}${path}${path.includes('?') ? '&' : '?'}timing=${Math.random()}`
      // The buffer keeps 250 entries and drops later ones (also for a while
      // after a clear, once it was full): the other scenarios fill it.
      performance.setResourceTimingBufferSize(100_000)
      performance.clearResourceTimings()
      await use(f, url).catch(() => {})
      // A marker fetch read to the end: entries come in the order the bodies
      // end, so once its entry is there, the first fetch's is too, if any.
      // Node's and undici's fetch add an entry a few turns after the body ends.
      const marker = `${o.a}/echo?marker=${Math.random()}`
      const markerAdded = resourceEntryAdded(marker)
      await (await f(marker)).text()
      await markerAdded
      const entries = performance.getEntriesByName(url, 'resource') as unknown as PerformanceResourceTiming[]
      performance.clearResourceTimings()
      return describeEntries(entries)
    }
  const read = async (f: Fetch, url: string, init?: RequestInit) => (await f(url, init)).arrayBuffer()
  return {
    'a resource-timing entry per fetch': timing('/cookies', read),
    'a resource-timing entry counts a redirect': timing('/redirect?to=/cookies', read),
    'a resource-timing entry has the encoded and decoded sizes of a gzip body': timing('/encoded?coding=gzip', read),
    'a resource-timing entry for a HEAD request (a null body)': timing('/echo', (f, url) => f(url, { method: 'HEAD' })),
    'a resource-timing entry once a clone is read': timing('/cookies', async (f, url) => (await f(url)).clone().text()),
    'no resource-timing entry for a body not read to its end': timing('/cookies', (f, url) => f(url)),
    'a resource-timing entry for a cancelled body': timing('/cookies', async (f, url) => (await f(url)).body?.cancel()),
    'a resource-timing entry for an abort while the body is read': timing('/slow', async (f, url) => {
      const controller = new AbortController()
      const response = await f(url, { signal: controller.signal })
      const reader = response.body!.getReader()
      await reader.read()
      controller.abort()
      return reader.read()
    }),
    'a resource-timing entry for a failed fetch': timing(`${o.refused}/`, read),
    'a resource-timing entry for a redirect that fails': timing('/bad-scheme', read),
    'no resource-timing entry for a fetch aborted before the response': timing('/hang', (f, url) => {
      const controller = new AbortController()
      setImmediate(() => controller.abort())
      return f(url, { signal: controller.signal })
    }),
  }
}
