import { Readable } from 'node:stream'

/** What a scenario observed: the parts of a response or an error that must match Node's fetch. */
export type Observed = Record<string, unknown>

export interface Origins {
  a: string
  b: string
  refused: string
}

/** A fetch function. */
export type Fetch = typeof globalThis.fetch

/**
 * The classes a scenario builds its inputs with: npm undici's fetch refuses
 * Node's global `Request` and `FormData` (another copy of the classes), so it
 * gets its own.
 */
export interface Kit {
  Request: typeof Request
  FormData: typeof FormData
  Headers: typeof Headers
}

/** Node's global classes, for Node's fetch and for createFetch. */
export const globalKit: Kit = { Request, FormData, Headers }

/** A scenario: one use of fetch, as a user would write it. */
export type Scenario = (fetch: Fetch, kit: Kit) => Promise<Response | Observed>

export async function describe(response: Response): Promise<Observed> {
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
export async function settle(promise: Promise<unknown>): Promise<Observed> {
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

export function stream(parts: string[]): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(parts.map((p) => Buffer.from(p)))) as ReadableStream<Uint8Array>
}

/** A stream whose parts arrive a few milliseconds apart. */
export function slowStream(parts: string[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (i < parts.length) controller.enqueue(new TextEncoder().encode(parts[i++]!))
      else controller.close()
    },
  })
}

export function form(k: Kit): FormData {
  const f = new k.FormData()
  f.append('field', 'value')
  f.append('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt')
  return f
}
